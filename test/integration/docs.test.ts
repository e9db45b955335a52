// Keeps the README short and the documentation's links whole: README.md is
// what a newcomer reads top to bottom (at most 300 lines), the reference is
// under docs/, and every relative link in either points at a file that exists
// and, with a #fragment, at a heading of that file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** README.md and every docs/*.md, as paths relative to the root. */
const DOCUMENTS = ['README.md', ...readdirSync(path.join(root, 'docs')).filter(f => f.endsWith('.md')).sort()
  .map(f => `docs/${f}`)]

/** The text outside fenced blocks and inline code, where a link is a link. */
function prose (markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** GitHub's anchors for the headings of a Markdown text (a repeated one gets -1, -2, ...). */
function anchors (markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = (m[1] as string).toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

/** The relative link targets of a Markdown text: `[text](target)` and `![alt](target)`. */
function relativeLinks (markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1] as string)
    .filter(t => !/^[a-z][a-z0-9+.-]*:/i.test(t))
}

test('README.md is at most 300 lines', () => {
  const lines = readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\n$/, '').split('\n').length
  assert.ok(lines <= 300, `README.md has ${lines} lines`)
})

test('the reference is under docs/: api.md, broker.md, load-balancers.md and migrating.md, each with a table ' +
  'of contents', () => {
  for (const doc of ['docs/api.md', 'docs/broker.md', 'docs/load-balancers.md', 'docs/migrating.md']) {
    assert.ok(DOCUMENTS.includes(doc), doc)
    const text = readFileSync(path.join(root, doc), 'utf8')
    const own = anchors(text)
    const toc = [...text.slice(0, text.indexOf('\n## ')).matchAll(/\]\(#([^)]+)\)/g)].map(m => m[1] as string)
    const sections = [...text.matchAll(/^## /gm)].length
    assert.ok(toc.length >= sections,
      `${doc}: a table of contents before the first section, a line for each of its ${sections} sections`)
    for (const anchor of toc) assert.ok(own.has(anchor), `${doc}: #${anchor}`)
  }
})

/** The links of `text` (a document at `doc`, relative to the root) whose file or heading does not exist. */
function brokenLinks (doc: string, text: string): string[] {
  const broken: string[] = []
  for (const link of relativeLinks(text)) {
    const [file, fragment] = link.split('#') as [string, string | undefined]
    const here = path.join(root, doc)
    const target = file === '' ? here : path.resolve(path.dirname(here), decodeURIComponent(file))
    if (!existsSync(target)) { broken.push(`${link}: no such file`); continue }
    const own = file === '' ? text : target.endsWith('.md') ? readFileSync(target, 'utf8') : undefined
    if (fragment !== undefined && own !== undefined && !anchors(own).has(fragment)) {
      broken.push(`${link}: no such heading`)
    }
  }
  return broken
}

for (const doc of DOCUMENTS) {
  test(`every relative link in ${doc} points at a file that exists, and at a heading of it`, () => {
    const text = readFileSync(path.join(root, doc), 'utf8')
    assert.ok(relativeLinks(text).length > 0, `${doc} links to something`)
    assert.deepEqual(brokenLinks(doc, text), [])
  })
}

test('a link to a missing file or heading is caught; links in code are not links', () => {
  const text = '# Here\n[a](docs/none.md) [b](docs/api.md#none) [c](#here) [d](#gone) `[e](nowhere.md)`\n' +
    '```md\n[f](nowhere.md)\n```\n'
  assert.deepEqual(brokenLinks('README.md', text),
    ['docs/none.md: no such file', 'docs/api.md#none: no such heading', '#gone: no such heading'])
})

test('the heading anchors are GitHub\'s', () => {
  const text = '# A b\n## What the broker sees: `client.connDetails`\n' +
    '```sh\n# not a heading\n```\n## A b\n### nginx (stream)\n'
  assert.deepEqual([...anchors(text)],
    ['a-b', 'what-the-broker-sees-clientconndetails', 'a-b-1', 'nginx-stream'])
})
