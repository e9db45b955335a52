// aedes-persistence-redis ships no type declarations: the part of its API
// examples/cluster/broker.ts uses. (mqemitter-redis ships its own.)
declare module 'aedes-persistence-redis' {
  /** The ioredis connection options the example passes (ioredis takes many more). */
  export interface RedisConnectionOptions {
    host?: string
    port?: number
    username?: string
    password?: string
    db?: number
  }

  export interface AedesPersistenceRedisOptions extends RedisConnectionOptions {
    /** most offline messages delivered on CONNECT, default 1000 */
    maxSessionDelivery?: number
    /** seconds an offline message lives, default forever */
    packetTTL?: (packet: unknown) => number
  }

  /** An aedes persistence: aedes calls `setup`; `destroy` closes its Redis connection. */
  export interface AedesPersistenceRedis {
    setup (broker: unknown): Promise<void>
    destroy (): Promise<void>
  }

  function aedesPersistenceRedis (options?: AedesPersistenceRedisOptions): AedesPersistenceRedis
  export default aedesPersistenceRedis
}
