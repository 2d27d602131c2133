// Tells whether the client of a blocking (non-streaming) request is still connected.
//
// cpp-httplib 0.11 (Debian 12) gives a handler no handle on its socket, and a non-streaming
// response writes nothing until the generation ends, so a client that gives up would otherwise
// keep its slot busy until num_predict. The probe finds the handler's socket by its address pair
// once (among this process's descriptors), then peeks it: an orderly close from the peer reads
// as end-of-file. Linux-only (/proc/self/fd); elsewhere it reports "connected" forever.
#pragma once

#include <string>

namespace corral::server {

class ConnectionProbe {
 public:
  // The connection whose peer is remote_addr:remote_port and whose local port is local_port.
  ConnectionProbe(std::string remote_addr, int remote_port, int local_port);

  // False once the peer has closed or reset the connection. The descriptor is looked up on the
  // first call; while the handler runs the server keeps it open, so it cannot be reused.
  bool connected();

  // The descriptor found (-1: none matched; the probe then always answers connected).
  int fd() const { return fd_; }

 private:
  std::string remote_addr_;
  int remote_port_, local_port_;
  bool looked_up_ = false;
  int fd_ = -1;
};

}  // namespace corral::server
