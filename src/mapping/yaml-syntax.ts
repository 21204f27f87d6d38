/**
 * A YAML syntax error as a rule author can act on it: where (line and column), what the parser
 * says, and for the mistakes people make in rule files, what to write instead. Only the first
 * error of a file is worth reading: the parser's later ones mostly follow from it.
 */
import type { LineCounter, YAMLError } from 'yaml';

/** `line:column: message. Hint. (N more …)` for the first error; undefined when there is none. */
export function describeYamlErrors(errors: readonly YAMLError[], text: string, lineCounter: LineCounter): string | undefined {
  const sorted = [...errors].sort((a, b) => a.pos[0] - b.pos[0]);
  const first = sorted[0];
  if (first === undefined) return undefined;
  const { line, col } = lineCounter.linePos(first.pos[0]);
  const lineText = text.split('\n')[line - 1]?.replace(/\r$/, '') ?? '';
  const hint = yamlHint(first, lineText);
  const more = sorted.length > 1 ? ` (Then ${sorted.length - 1} more YAML error${sorted.length === 2 ? '' : 's'}, most likely caused by this one.)` : '';
  return `${line}:${col}: ${first.message.split('\n')[0]!.trim()}.${hint === undefined ? '' : ` ${hint}.`}${more}`;
}

// `actor.extensions["bb:user.email"]`: a key in brackets and quotes, as paths write them.
const BRACKET_PATH = /[\w\]]\[["']/;
// A flow collection opened on the line: `{ from: …`, `key: [ …`, `- [ …`.
const FLOW_START = /(^|[:\-,]\s*)[{[]/;

function yamlHint(error: YAMLError, lineText: string): string | undefined {
  if (error.code === 'TAB_AS_INDENT') return 'Indent with spaces';
  if (error.code === 'DUPLICATE_KEY') return 'This key is written twice in one mapping: keep one';
  if (error.code === 'MISSING_CHAR' && /closing .?quote/i.test(error.message)) {
    return 'A quote opened above is not closed before the end of the file: look for the text where it starts';
  }
  if (BRACKET_PATH.test(lineText) && FLOW_START.test(lineText)) {
    return `Inside { … } or [ … ], quote a path with brackets as a whole, like { from: 'actor.extensions["bb:user.externalId"]' }, or write it on its own line`;
  }
  const value = /^\s*(?:-\s+)?[^\s:#][^:#]*:\s+(.*)$/.exec(lineText)?.[1] ?? '';
  if (error.code === 'BAD_SCALAR_START' || /^[*&!%@`]/.test(value)) {
    return 'Put text that starts with @, `, *, &, ! or % in quotes';
  }
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY' && /:\s/.test(value) && !/^["']/.test(value)) {
    return 'Put text that holds ": " (a colon and a space) in quotes';
  }
  if (error.code === 'BAD_INDENT' || error.code === 'BLOCK_AS_IMPLICIT_KEY' || error.code === 'MULTILINE_IMPLICIT_KEY') {
    return 'Check the indentation here and on the lines around it: the keys of one mapping, and the "- " items of one list, start in the same column';
  }
  return undefined;
}
