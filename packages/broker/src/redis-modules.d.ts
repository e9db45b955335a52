// aedes-persistence-redis ships no type declarations: the part of its API
// cluster.ts uses. (mqemitter-redis and ioredis ship their own.)
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis'

  export interface AedesPersistenceRedisOptions {
    /** an ioredis connection of the caller's, used instead of one of its own */
    conn?: Redis
  }

  function aedesPersistenceRedis (options?: AedesPersistenceRedisOptions): object
  export default aedesPersistenceRedis
}
