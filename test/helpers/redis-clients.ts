// A redis-server of its own for one test, and ioredis clients to it, all
// stopped when the test ends (redis-server skipped, or failing under
// AEDES_PP_REQUIRE_TOOLS=1, when it is not installed).
import type { TestContext } from 'node:test'
import { Redis, type RedisOptions } from 'ioredis'
import { requireProgram } from './programs.js'
import { startRedis, type RunningRedis } from './redis.js'

export interface TestRedis {
  readonly server: RunningRedis
  /** A new ioredis client to the server (quit or disconnected when the test ends). */
  readonly client: (options?: RedisOptions) => Redis
}

export async function testRedis (t: TestContext): Promise<TestRedis | undefined> {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return undefined
  const server = await startRedis(bin)
  const clients: Redis[] = []
  t.after(async () => {
    for (const c of clients) c.disconnect()
    await server.stop()
  })
  return {
    server,
    client: (options = {}) => {
      // A client retries quietly while a test has the server stopped.
      const c = new Redis({ host: '127.0.0.1', port: server.port, retryStrategy: () => 100, ...options })
      c.on('error', () => {})
      clients.push(c)
      return c
    }
  }
}
