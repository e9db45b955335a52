// Keeps the README and docs/ true: every TypeScript block they show compiles,
// with the project's strict settings, against the package's own source. A
// block that continues an earlier one (it uses `broker` or `proxy` without
// making them) gets what the README made before it: the same imports and a broker with the
// plugin installed, and nothing it defines itself. A block that declares a
// module (types for a package that ships none) is a .d.ts file of its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The documents whose blocks are compiled: README.md and every docs/*.md. */
const DOCUMENTS = ['README.md', ...readdirSync(path.join(root, 'docs')).filter(f => f.endsWith('.md')).sort().map(f => `docs/${f}`)]

/** The ```ts blocks of a Markdown text, with the line each starts on. */
function tsBlocks (markdown: string): Array<{ line: number, code: string }> {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(m => ({
    line: markdown.slice(0, m.index).split('\n').length + 1,
    code: m[1] as string
  }))
}

/** What a block may use without making it, in the order a file needs it. */
const CONTEXT: ReadonlyArray<{ readonly name: string, readonly code: string }> = [
  { name: 'net', code: "import net from 'node:net'" },
  { name: 'tls', code: "import tls from 'node:tls'" },
  { name: 'http', code: "import http from 'node:http'" },
  { name: 'WebSocketServer', code: "import { WebSocketServer } from 'ws'" },
  { name: 'createWebSocketStream', code: "import { createWebSocketStream } from 'ws'" },
  { name: 'Aedes', code: "import { Aedes } from 'aedes'" },
  { name: 'withPlugins', code: "import { withPlugins } from 'aedes-proxy-protocol'" },
  { name: 'proxyProtocol', code: "import { proxyProtocol } from 'aedes-proxy-protocol'" },
  { name: 'ipPolicy', code: "import { ipPolicy } from 'aedes-proxy-protocol'" },
  { name: 'unauthorizedClients', code: "import { unauthorizedClients } from 'aedes-proxy-protocol'" },
  { name: 'sessions', code: "import { sessions } from 'aedes-proxy-protocol'" },
  { name: 'key', code: 'declare const key: Buffer' },
  { name: 'cert', code: 'declare const cert: Buffer' },
  { name: 'ca', code: 'declare const ca: Buffer' },
  { name: 'broker', code: 'const broker = withPlugins(await Aedes.createBroker())' },
  { name: 'proxy', code: "const proxy = broker.use(proxyProtocol({ proxyEnabled: true, trustedProxies: ['10.0.0.5'] }))" }
]

function defines (code: string, name: string): boolean {
  return new RegExp(`\\b(const|let|var|function|class)\\s+${name}\\b|^import\\s+${name}\\b|^import\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`, 'm').test(code)
}

/** The block as a file of its own: the context it uses and does not define, then the block. */
function asModule (code: string): string {
  const needed = new Set<string>()
  const need = (text: string): void => {
    for (const item of CONTEXT) {
      if (needed.has(item.name) || defines(code, item.name) || !new RegExp(`\\b${item.name}\\b`).test(text)) continue
      needed.add(item.name)
      need(item.code) // what the context itself uses (broker needs Aedes and withPlugins)
    }
  }
  need(code)
  const prelude = CONTEXT.filter(item => needed.has(item.name)).map(item => item.code)
  return `${prelude.join('\n')}\n${code}\nexport {}\n`
}

/** The program's options: the project's compiler options, with the package name mapped to src/. */
function compilerOptions (): ts.CompilerOptions {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), file => ts.sys.readFile(file))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    paths: { 'aedes-proxy-protocol': [path.join(root, 'src', 'index.ts')] },
    // A file without imports or exports is a script, as a user's declarations file is.
    moduleDetection: ts.ModuleDetectionKind.Legacy
  }
}

/** A diagnostic as the tests print it: file and line, then the message. */
function describeDiagnostic (d: ts.Diagnostic): string {
  const line = (file: ts.SourceFile): number => file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1
  const where = d.file === undefined ? '' : `${path.basename(d.file.fileName)}:${line(d.file)}: `
  return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
}

/** A failing block for the test below that checks failures are caught; compiled with the documents' blocks. */
const WRONG_BLOCK = "const proxy = broker.use(proxyProtocol({ proxyEnabled: 'yes' }))\n" +
  'proxy.attach(net.createServer(broker.handle))'

/**
 * Every document's blocks (and WRONG_BLOCK) compiled in ONE TypeScript program, once: checking
 * the package's source and @types once rather than once a document. Each block is still a file
 * (a module) of its own, so one block's names do not reach another. Returns tsc's errors: the
 * program's own, and per file the file's, by document (and 'wrong' for WRONG_BLOCK).
 */
let compiled: { global: string[], byFile: Map<string, string[]>, files: Map<string, string[]> } | undefined
function compileAll (): NonNullable<typeof compiled> {
  if (compiled !== undefined) return compiled
  // Inside the project, so `aedes`, `ws` and the rest resolve from its node_modules.
  const dir = path.join(root, '.tmp', `readme-snippets-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  try {
    const files = new Map<string, string[]>() // document (or 'wrong') to its files
    for (const doc of DOCUMENTS) {
      files.set(doc, tsBlocks(readFileSync(path.join(root, doc), 'utf8')).map(b => {
        // Declarations for a package without types: a file of the user's without imports, so
        // global. Here a .ts rather than a .d.ts, whose errors skipLibCheck would not report.
        const ambient = /^declare module /m.test(b.code)
        const file = path.join(dir, `${path.basename(doc, '.md')}-line-${b.line}.ts`)
        writeFileSync(file, ambient ? b.code : asModule(b.code))
        return file
      }))
    }
    const wrong = path.join(dir, 'wrong.ts')
    writeFileSync(wrong, asModule(WRONG_BLOCK))
    files.set('wrong', [wrong])
    const program = ts.createProgram([...files.values()].flat(), compilerOptions())
    const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(describeDiagnostic)
    const byFile = new Map<string, string[]>()
    for (const file of [...files.values()].flat()) {
      const source = program.getSourceFile(file)
      assert.ok(source !== undefined, file)
      const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      byFile.set(file, diagnostics.map(describeDiagnostic))
    }
    compiled = { global, byFile, files }
    return compiled
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** tsc's errors for a document's blocks (or 'wrong'): the program's own, then each file's. */
function compileErrors (doc: string): string[] {
  const { global, byFile, files } = compileAll()
  return [...global, ...(files.get(doc) ?? []).flatMap(file => byFile.get(file) ?? [])]
}

/** The document's ```ts blocks, after checking that every fence opening TypeScript, however written, is one of them. */
function documentBlocks (doc: string): Array<{ line: number, code: string }> {
  const text = readFileSync(path.join(root, doc), 'utf8')
  const blocks = tsBlocks(text)
  const fences = [...text.matchAll(/^\s*```\s*(ts|typescript|tsx|mts)\b.*$/gim)].map(m => m[0])
  assert.equal(fences.length, blocks.length, `${doc}: TypeScript fences not compiled here (write them as \`\`\`ts at the start of a line): ${fences.filter(f => f !== '```ts').join(' | ')}`)
  return blocks
}

test('the README and docs/ show at least the ten TypeScript blocks they had in one README', () => {
  const counts = Object.fromEntries(DOCUMENTS.map(doc => [doc, documentBlocks(doc).length]))
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  assert.ok(total >= 10, `only ${total} ts blocks: ${JSON.stringify(counts)}`)
  assert.ok((counts['README.md'] ?? 0) >= 3, 'the quick start and the transports in the README')
})

for (const doc of DOCUMENTS) {
  test(`every TypeScript block in ${doc} compiles with the project's strict settings`, { timeout: 120_000 }, () => {
    const blocks = documentBlocks(doc)
    if (blocks.length === 0) return
    assert.equal(compileAll().files.get(doc)?.length, blocks.length, 'every block was compiled')
    assert.deepEqual(compileErrors(doc), [])
  })
}

test('a README block that does not compile is caught, and what it defines is not declared twice', { timeout: 120_000 }, () => {
  const errors = compileErrors('wrong')
  assert.equal(errors.length, 1, errors.join('\n'))
  assert.match(errors[0] as string, /wrong\.ts:\d+: .*"yes"/)
  const own = asModule("import net from 'node:net'\nconst broker = 1\nconsole.log(net, broker)")
  assert.doesNotMatch(own, /import net from 'node:net'\nimport net/)
  assert.doesNotMatch(own, /withPlugins\(await Aedes\.createBroker\(\)\)/)
})
