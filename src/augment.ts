import type { ConnDetails } from './conn-details.js'

// aedes copies `req.connDetails` onto the client (lib/client.js). The field is
// optional: connections that bypass the plugin leave it null or undefined.
declare module 'aedes' {
  interface Client {
    connDetails?: ConnDetails | null
  }
}
