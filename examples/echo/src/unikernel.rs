//! The appliance, generic over the transport: TCP and UDP echo on one address.
use core::{future::poll_fn, pin::pin, task::Poll};
use futures::{StreamExt, future::Future, stream::FuturesUnordered};
use mirage_core::{Stack, StackError, TcpFlow, TcpListener, UdpSocket};

/// Echoes every TCP connection and UDP datagram on `addr`, until an error.
pub async fn start<S: Stack>(stack: S, addr: std::net::SocketAddr) -> Result<(), StackError> {
    let listener = stack.tcp_listen(addr).await?;
    let udp = stack.udp_bind(listener.local_addr()).await?;
    futures::try_join!(serve_tcp(&listener), serve_udp(&udp)).map(|_| ())
}

async fn serve_tcp<L: TcpListener>(listener: &L) -> Result<(), StackError> {
    let mut flows = FuturesUnordered::new();
    loop {
        let mut accept = pin!(listener.accept());
        let flow = poll_fn(|cx| {
            while let Poll::Ready(Some(_)) = flows.poll_next_unpin(cx) {}
            accept.as_mut().poll(cx)
        })
        .await?;
        flows.push(echo(flow));
    }
}

async fn echo<F: TcpFlow>(mut flow: F) -> Result<(), StackError> {
    let mut buf = vec![0; 16 * 1024];
    while let n @ 1.. = flow.read(&mut buf).await? {
        flow.write_all(&buf[..n]).await?;
    }
    flow.close().await
}

async fn serve_udp<U: UdpSocket>(socket: &U) -> Result<(), StackError> {
    let mut buf = vec![0; 65_536];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        socket.send_to(&buf[..n], from).await?;
    }
}
