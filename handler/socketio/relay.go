package socketio

import "context"

// Relay carries frames to sockets connected to other instances. The
// server calls Start once, from New, then Join when a socket connects here
// and Leave when it is gone, so that what other instances send to it
// arrives here; Send when a frame is for a socket not connected here. Its
// methods may block for a round trip to whatever carries the frames; they
// report their own failures (a frame that cannot be carried is lost, as
// one to a socket gone).
type Relay interface {
	// Start hands the frames sent to this instance's sockets to deliver,
	// those of one socket in the order they were sent, until ctx is done.
	Start(ctx context.Context, deliver func(to string, frame []byte))
	// Join makes frames sent to socket id arrive here.
	Join(id string)
	// Leave stops them.
	Leave(id string)
	// Send carries frame to the instance where socket to is connected;
	// nobody gets it when it is connected nowhere.
	Send(to string, frame []byte)
}
