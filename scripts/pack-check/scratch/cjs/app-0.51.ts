// aedes 0.51 from a CommonJS TypeScript build: its types name the factory
// `createBroker` (the module itself at run time: `module.exports =
// Aedes.createBroker = Aedes`), so a named import compiles to
// `require('aedes').createBroker(...)` with or without esModuleInterop.
import { createBroker } from 'aedes'
import { authenticate, serve } from './serve'

serve(createBroker({ authenticate }))
