// Every speed trick in src/ points at the bench case that justifies it
// (issue 23): the case, candidate and variant ids a source comment cites
// exist in bench/ and are named in bench/README.md, a README section cited
// as `section N, "text"` is that section and says that text, and a cited
// bench/ file exists. And bench/ stays within the size issue 23 set.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8')
const lineCount = (rel: string): number => read(rel).split('\n').length - 1

function files (dir: string, ext = ''): string[] {
  return readdirSync(path.join(root, dir)).flatMap(name => {
    const rel = path.join(dir, name)
    return statSync(path.join(root, rel)).isDirectory() ? files(rel, ext) : name.endsWith(ext) ? [rel] : []
  })
}

/** The comments of a file as blocks of text: a run of `//` lines is one block, a `/* *\/` comment another. */
function commentBlocks (text: string): string[] {
  const file = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, false)
  const ranges = new Map<number, ts.CommentRange>()
  const visit = (node: ts.Node): void => {
    const around = [ts.getLeadingCommentRanges(text, node.getFullStart()), ts.getTrailingCommentRanges(text, node.end)]
    for (const r of around.flatMap(x => x ?? [])) ranges.set(r.pos, r)
    ts.forEachChild(node, visit)
  }
  visit(file)
  const blocks: Array<{ text: string, end: number, line: boolean }> = []
  for (const r of [...ranges.values()].sort((a, b) => a.pos - b.pos)) {
    const line = r.kind === ts.SyntaxKind.SingleLineCommentTrivia
    const body = text.slice(r.pos, r.end).replace(/^\/\/|^\/\*+|\*+\/$/g, '').replace(/^\s*\*/gm, '')
    const last = blocks[blocks.length - 1]
    if (line && last?.line === true && /^[ \t]*\n[ \t]*$/.test(text.slice(last.end, r.pos))) {
      last.text += ` ${body}`
      last.end = r.end
    } else {
      blocks.push({ text: body, end: r.end, line })
    }
  }
  return blocks.map(b => b.text.replace(/\s+/g, ' ').trim())
}

/** bench/README.md's numbered sections ("1. **Parsing** ..."), by number, their text on one line. */
function readmeSections (readme: string): Map<number, string> {
  const sections = new Map<number, string>()
  let current: number | undefined
  for (const line of readme.split('\n')) {
    const start = /^(\d+)\. /.exec(line)
    if (start !== null) current = Number(start[1])
    else if (line.startsWith('#')) current = undefined
    if (current !== undefined) sections.set(current, `${sections.get(current) ?? ''} ${line.trim()}`)
  }
  for (const [n, text] of sections) sections.set(n, text.replace(/\s+/g, ' '))
  return sections
}

interface Citation { readonly where: string, readonly problem: string }

const ID = '`?[a-z0-9][a-z0-9@-]*`?'
/** "case v2-inet", "cases v1-tcp4, v1-tcp6 and v2-inet6-tlvs (", "variant pp-rec-v1.": ids, then a stop. */
const IDS = new RegExp(`\\b(?:cases?|candidates?|variants?) (${ID}(?:(?:, | and | or )${ID})*)(?=[ ]?[(.,;:)]|$)`, 'g')
const SECTION = /\bsection (\d+)(, "([^"]+)"|, (?:parser )?(?:cases?|candidates?|variants?) )?/g

/** What is wrong with the bench citations in `blocks` (the comments of `file`), given bench/'s README and code. */
function citationProblems (file: string, blocks: readonly string[], readme: string, benchCode: string,
  benchFiles: ReadonlySet<string>): { problems: Citation[], cited: number } {
  const sections = readmeSections(readme)
  const problems: Citation[] = []
  let cited = 0
  for (const block of blocks.filter(b => /\bbench\b/i.test(b))) {
    const at = (m: RegExpMatchArray): string => `${file}: "${m[0]}"`
    for (const m of block.matchAll(IDS)) {
      const where = at(m)
      for (const id of (m[1] as string).split(/, | and | or /).map(x => x.replace(/`/g, ''))) {
        cited++
        if (!readme.includes(`\`${id}\``)) problems.push({ where, problem: `${id} is not named in bench/README.md` })
        if (!new RegExp(`['"\`]${id}['"\`]`).test(benchCode)) {
          problems.push({ where, problem: `${id} is no case, candidate or variant in bench/*.ts` })
        }
      }
    }
    for (const m of block.matchAll(SECTION)) {
      const where = at(m)
      cited++
      const n = Number(m[1])
      const text = sections.get(n)
      if (m[2] === undefined) {
        problems.push({ where, problem: `section ${n}: cite it as section ${n}, "words it says", or with an id` })
      } else if (text === undefined) {
        problems.push({ where, problem: `bench/README.md has no section ${n}` })
      } else if (m[3] !== undefined && !text.includes(m[3])) {
        problems.push({ where, problem: `bench/README.md section ${n} does not say "${m[3]}"` })
      }
    }
    for (const m of block.matchAll(/\bbench\/([\w.-]+\.(?:ts|md))/g)) {
      const where = at(m)
      cited++
      if (!benchFiles.has(m[1] as string)) problems.push({ where, problem: `no file bench/${m[1] as string}` })
    }
  }
  return { problems, cited }
}

const benchSources = readdirSync(path.join(root, 'bench')).filter(name => name.endsWith('.ts'))
const readme = read('bench/README.md')
const benchCode = benchSources.map(name => read(path.join('bench', name))).join('\n')
const benchFiles = new Set(readdirSync(path.join(root, 'bench')))

test('every bench case, variant and README section that a comment in src/ cites is there', () => {
  const problems: Citation[] = []
  let cited = 0
  for (const file of files('src', '.ts')) {
    const found = citationProblems(file, commentBlocks(read(file)), readme, benchCode, benchFiles)
    problems.push(...found.problems)
    cited += found.cited
  }
  assert.deepEqual(problems, [])
  assert.ok(cited >= 20, `only ${cited} citations of bench/ in src/: the comments or this test's reading changed`)
})

test('the check of citations finds a broken one', () => {
  const blocks = commentBlocks([
    '// Bench: bench/client-memory.ts (bench/README.md, section 6: memory per connected client).',
    '/** A reader (bench/README.md',
    ' * section 2, "What depends on which other sockets share the process"). */',
    '// Bench: parser case v2-inet7 (bench/cases.ts), candidate ours (bench/nothing.ts);',
    '// variant pp-rec-v9.',
    '',
    '// bench/README.md section 9, "anything". No parser case has a CRC32C.',
    'export const x = 1 // bench/README.md section 5, "Memory per connected client": fine.',
    'const y = `// bench: not a comment, variant pp-rec-v7.`'
  ].join('\n'))
  assert.equal(blocks.length, 5)
  const { problems } = citationProblems('example.ts', blocks, readme, benchCode, benchFiles)
  assert.deepEqual(problems.map(p => p.problem), [
    'section 6: cite it as section 6, "words it says", or with an id',
    'bench/README.md section 2 does not say "What depends on which other sockets share the process"',
    'v2-inet7 is not named in bench/README.md',
    'v2-inet7 is no case, candidate or variant in bench/*.ts',
    'pp-rec-v9 is not named in bench/README.md',
    'pp-rec-v9 is no case, candidate or variant in bench/*.ts',
    'no file bench/nothing.ts',
    'bench/README.md has no section 9'
  ])
})

test('bench/ stays small: its sources and README at most 2,500 lines, its committed results at most 300', () => {
  const code = [...benchSources.map(name => path.join('bench', name)), 'bench/README.md']
  const total = code.reduce((sum, rel) => sum + lineCount(rel), 0)
  assert.ok(total <= 2500, `bench/*.ts and bench/README.md: ${total} lines`)
  // The committed results: what .gitignore's bench/results/ lines (quick.*, build.tmp/, ...) leave.
  const ignored = read('.gitignore').split('\n').filter(l => l.startsWith('bench/results/'))
    .map(l => new RegExp(`^${l.replace(/\/$/, '').replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}(/|$)`))
  const results = files('bench/results').filter(rel => !ignored.some(re => re.test(rel)))
  assert.ok(results.length > 0, 'no committed bench/results/')
  const resultLines = results.reduce((sum, rel) => sum + lineCount(rel), 0)
  assert.ok(resultLines <= 300, `bench/results/: ${resultLines} lines`)
})
