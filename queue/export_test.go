package queue

// RematchLatency bounds how late the matching run that a lapsed window
// (no rematch, interest wait) calls for may come: the slack that lets
// Redis expire the window's key, and the timer's coalescing.
const RematchLatency = windowSlack + coalesce
