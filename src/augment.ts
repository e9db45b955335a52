import type { ConnDetails } from './conn-details.js'

// aedes copies `req.connDetails` onto the client (lib/client.js).
declare module 'aedes' {
  interface Client {
    /**
     * How this client connected, set by aedes-proxy-protocol before
     * `preConnect` and `authenticate` run: the real client address and port
     * (`ipAddress`, `port`; from the PROXY header, X-Forwarded-For, or the
     * socket), the immediate peer (`peer`: the load balancer), the listener,
     * TLS facts, and the parsed header with its TLVs (`proxy`).
     *
     * Null or undefined for a connection that bypassed the plugin (a server
     * not given to `proxy.attach()` on a listener without PROXY, or a broker
     * without the plugin).
     */
    connDetails?: ConnDetails | null
  }
}
