// Commands the documentation prints for a reader to type (the examples'
// "Try it by hand", the README's "Try it on one machine"), read as a POSIX
// shell reads them, so that a test runs them as printed.
import assert from 'node:assert/strict'

/** The commands of a shell text, one a line; a line break inside double quotes continues the command. */
export function shellCommands (text: string): string[] {
  const commands: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted && c === '\\') { current += c + (text[++i] ?? ''); continue }
    if (c === '"') quoted = !quoted
    if (c === '\n' && !quoted) { commands.push(current); current = ''; continue }
    current += c
  }
  commands.push(current)
  return commands.map(c => c.trim()).filter(c => c !== '' && !c.startsWith('#'))
}

/** The script of `node -e "..."`, unquoted as a POSIX shell does inside double quotes. */
export function nodeScript (command: string): string {
  const m = /^node -e "([\s\S]*)"$/.exec(command)
  assert.ok(m !== null, `not a node -e "..." command: ${command}`)
  return (m[1] as string).replace(/\\([\\"$`\n])/g, (_, c: string) => c === '\n' ? '' : c)
}
