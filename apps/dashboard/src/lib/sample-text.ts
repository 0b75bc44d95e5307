/**
 * A training sample as the run page shows it. An early model often generates runs of newlines (or
 * nothing but whitespace); printed as they are, one sample card stretched tall and looked empty. Runs
 * of blank lines are folded into a visible marker, and whitespace alone is said in words.
 */

/** The text to show for a sample. */
export function displaySample(text: string): string {
  if (text.trim() === '') return `(only whitespace: ${text.length} characters)`;
  return text.replace(/\n{2,}/g, (run) => ` ⏎×${run.length} `).replace(/\n/g, ' ⏎ ');
}
