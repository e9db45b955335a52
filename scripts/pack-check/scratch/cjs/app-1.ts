// aedes 1.x and 2.x from a CommonJS TypeScript build: aedes is ESM, loaded
// by require() like this package; createBroker is async, and a CommonJS
// module has no top-level await.
import { Aedes } from 'aedes'
import { authenticate, serve } from './serve'

void Aedes.createBroker({ authenticate }).then(serve)
