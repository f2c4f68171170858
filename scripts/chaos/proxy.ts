// A tiny TCP round-robin proxy: "one address" in front of several scheduler replicas, as a
// load balancer would be. A connection goes to the next backend; one that refuses (a killed
// replica) is skipped for the next, so clients see the survivors only.
import net from 'node:net';

export interface RoundRobin {
  url: string;
  close(): Promise<void>;
}

export async function roundRobin(port: number, backends: { host: string; port: number }[]): Promise<RoundRobin> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const tryBackend = (left: number) => {
      const b = backends[next++ % backends.length];
      const up = net.connect(b.port, b.host);
      sockets.add(up);
      up.on('close', () => sockets.delete(up));
      up.once('error', () => {
        if (left > 1 && !up.bytesWritten) return tryBackend(left - 1);
        client.destroy();
      });
      up.once('connect', () => {
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.pipe(up).pipe(client);
        client.resume();
      });
    };
    tryBackend(backends.length);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
