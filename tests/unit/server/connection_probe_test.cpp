// The probe finds a real TCP connection's server-side socket by its address pair and sees the
// client go away.
#include "server/connection_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace corral::server {
namespace {

struct Loopback {
  int listener = -1, client = -1, accepted = -1;
  int server_port = 0, client_port = 0;
  Loopback() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(listener, 4), 0);
    EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
    server_port = ntohs(a.sin_port);
    client = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    accepted = accept(listener, nullptr, nullptr);
    sockaddr_in c{};
    len = sizeof c;
    EXPECT_EQ(getsockname(client, reinterpret_cast<sockaddr*>(&c), &len), 0);
    client_port = ntohs(c.sin_port);
  }
  ~Loopback() {
    for (int fd : {listener, client, accepted})
      if (fd >= 0) close(fd);
  }
};

TEST(ConnectionProbe, FindsTheServerSideSocketAndSeesTheClientClose) {
  Loopback lo;
  ASSERT_GE(lo.accepted, 0);
  ConnectionProbe probe("127.0.0.1", lo.client_port, lo.server_port);
  EXPECT_TRUE(probe.connected());
  // The accepted socket, not the client's own end (which has the ports the other way round).
  EXPECT_EQ(probe.fd(), lo.accepted);
  // Data waiting to be read (a pipelined request) is not a close.
  ASSERT_EQ(write(lo.client, "x", 1), 1);
  EXPECT_TRUE(probe.connected());
  close(lo.client);
  lo.client = -1;
  EXPECT_TRUE(probe.connected());  // the byte is still unread: the close is behind it
  char buf[4];
  ASSERT_EQ(read(lo.accepted, buf, sizeof buf), 1);
  EXPECT_FALSE(probe.connected());
}

TEST(ConnectionProbe, UnknownConnectionCountsAsConnected) {
  Loopback lo;
  ConnectionProbe probe("127.0.0.1", lo.client_port + 1 == 65536 ? 1 : lo.client_port + 1, lo.server_port);
  EXPECT_TRUE(probe.connected());
  EXPECT_EQ(probe.fd(), -1);
  ConnectionProbe no_ports("", -1, -1);
  EXPECT_TRUE(no_ports.connected());
  EXPECT_EQ(no_ports.fd(), -1);
}

}  // namespace
}  // namespace corral::server
