// Re-renders the Markdown and SVG from a results JSON file, without running
// anything: node --import tsx bench/render.ts bench/results/latest.json
import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { evaluateTargets, renderMarkdown, renderSvg } from './report.js'
import type { Results } from './results.js'

const file = process.argv[2] ?? 'bench/results/latest.json'
const results = JSON.parse(readFileSync(file, 'utf8'), (key, value: unknown) => value === null && (key === 'median' || key === 'min' || key === 'max') ? Number.NaN : value) as Results
results.targets = evaluateTargets(results)
const base = file.replace(/\.json$/, '')
writeFileSync(`${base}.md`, renderMarkdown(results, `${basename(base)}.svg`))
writeFileSync(`${base}.svg`, renderSvg(results))
process.stderr.write(`wrote ${base}.md and ${base}.svg\n`)
