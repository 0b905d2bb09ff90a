// Not Go: the React client. This file makes client/ a module of its own, so
// that the server module's ./... (go test, go vet, staticcheck) leaves out
// the Go files that npm packages ship in client/node_modules (flatted's).
module github.com/zivro/zivro/client

go 1.26
