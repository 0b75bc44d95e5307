/**
 * Labelled texts from CSV or TSV files, one `label<sep>text` row per example: the UCI SMS Spam
 * Collection (`ham\tGo until jurong point…`, no header, no quoting) loads as it is; CSV follows
 * RFC 4180 (quoted fields, `""` for a quote, newlines inside quotes). Every problem is reported
 * with the file and line.
 */
import * as fs from 'fs';
import { DataError } from '@llm-forge/gpt';

/** One labelled example and where it came from (for error messages). */
export interface LabeledExample {
  label: string;
  text: string;
  /** `file:line` or another description of the origin. */
  source: string;
}

/** A header row is skipped when its first two fields are these (case-insensitive). */
const HEADER_LABELS = ['label', 'class', 'category', 'v1'];
const HEADER_TEXTS = ['text', 'message', 'sms', 'v2'];

interface Row {
  fields: string[];
  line: number;
}

/** Splits TSV: label before the first tab, text after it (the SMS collection's texts hold no tabs). */
function tsvRows(content: string): Row[] {
  return content.split(/\r?\n/).map((line, i) => {
    const tab = line.indexOf('\t');
    return { fields: tab < 0 ? [line] : [line.slice(0, tab), line.slice(tab + 1)], line: i + 1 };
  });
}

/** RFC 4180 CSV: quoted fields may hold commas, `""` and newlines. */
function csvRows(content: string, file: string): Row[] {
  const rows: Row[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let quoteLine = 0;
  for (let i = 0; i < content.length; i++) {
    const c = content[i];
    if (quoted) {
      if (c === '"' && content[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && content[i + 1] === '\n') i++;
      rows.push({ fields: [...fields, field], line: rowLine });
      fields = [];
      field = '';
      rowLine = ++line;
    } else field += c;
  }
  if (quoted) {
    throw new DataError(
      `${file}:${quoteLine}: a quoted field is never closed`,
      'end it with " (write "" for a quote inside)',
    );
  }
  rows.push({ fields: [...fields, field], line: rowLine });
  return rows;
}

/** Checks one row and makes it an example; throws naming the file and line. */
function toExample(row: Row, file: string, separator: string): LabeledExample {
  const where = `${file}:${row.line}`;
  // Trailing empty fields (spreadsheet exports such as Kaggle's spam.csv) carry nothing.
  const fields = [...row.fields];
  while (fields.length > 2 && fields[fields.length - 1].trim() === '') fields.pop();
  if (fields.length !== 2) {
    throw new DataError(
      `${where}: expected 2 fields (label${separator}text), got ${fields.length}`,
      separator === ','
        ? 'quote a text that contains commas: "like, this"'
        : 'separate label and text with a tab',
    );
  }
  const [label, text] = [fields[0].trim(), fields[1].trim()];
  if (label === '') throw new DataError(`${where}: the label is empty`);
  if (text === '') throw new DataError(`${where}: the text of this "${label}" example is empty`);
  return { label, text, source: where };
}

/**
 * Parses CSV or TSV content (TSV when the first line has a tab). Blank lines are skipped; a first
 * row `label,text` (or `v1,v2`, `class,message` …) is a header and skipped.
 */
export function parseLabeledText(content: string, file: string): LabeledExample[] {
  const firstLine = content.slice(0, content.search(/\r?\n|$/));
  const separator = firstLine.includes('\t') ? '\t' : ',';
  const rows = (separator === '\t' ? tsvRows(content) : csvRows(content, file)).filter(
    (r) => !(r.fields.length === 1 && r.fields[0].trim() === ''),
  );
  const head = rows[0]?.fields.map((f) => f.trim().toLowerCase());
  if (head && HEADER_LABELS.includes(head[0]) && HEADER_TEXTS.includes(head[1] ?? '')) rows.shift();
  if (rows.length === 0)
    throw new DataError(`${file}: has no examples`, 'one "label<tab or comma>text" row per line');
  return rows.map((r) => toExample(r, file, separator));
}

/** Reads and parses a CSV/TSV file of labelled texts; DataError naming the file when unreadable. */
export function readLabeledFile(file: string): LabeledExample[] {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(`${file}: ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`);
  }
  return parseLabeledText(content.replace(/^\uFEFF/, ''), file);
}
