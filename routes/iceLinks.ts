import type { IceServer } from "../lib/config.ts";

/** RFC 9725 4.6: ICE servers as Link headers, rel="ice-server", with TURN credentials when configured. */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  return servers.map((server) => {
    const params = [`<${server.urls}>`, 'rel="ice-server"'];
    if (server.username) {
      params.push(
        `username="${server.username}"`,
        `credential="${server.credential ?? ""}"`,
        'credential-type="password"',
      );
    }
    return params.join("; ");
  });
}
