/**
 * Scoring responses with a judge model as the book's ch. 7 does: one prompt per response asking
 * for an integer from 0 to 100, and the average over the scores that parse.
 */
import { ALPACA_STYLE } from '../instruction/prompt-style';
import type { InstructionResponse } from '../instruction/responses';

/** The book's judge prompt (its `format_input` is the Alpaca one, whatever style trained the model). */
export function judgePrompt(
  response: Pick<InstructionResponse, 'instruction' | 'input' | 'output' | 'model_response'>,
): string {
  return (
    `Given the input \`${ALPACA_STYLE.formatInput(response)}\` ` +
    `and correct output \`${response.output}\`, ` +
    `score the model response \`${response.model_response}\`` +
    ` on a scale from 0 to 100, where 100 is the best score. ` +
    `Respond with the integer number only.`
  );
}

/**
 * The score in a judge's reply: the first whole number in [0, 100] that is not part of a larger
 * or decimal number ("85", "Score: 85/100", "**90**"), or null when there is none.
 */
export function parseScore(reply: string): number | null {
  for (const match of reply.matchAll(/(?<![\d.])-?\d+(?:\.\d+)?(?![\d])/g)) {
    const value = Number(match[0]);
    if (Number.isInteger(value) && value >= 0 && value <= 100 && !match[0].startsWith('-')) return value;
  }
  return null;
}

/** Anything that completes a prompt (a {@link JudgeClient}, or a fake in tests). */
export interface Judge {
  complete(prompt: string): Promise<string>;
}

/** One judged response. */
export interface JudgedResponse {
  index: number;
  /** The parsed score, or null when the reply held no score in [0, 100]. */
  score: number | null;
  reply: string;
}

/** Scores and their average. */
export interface JudgeSummary {
  judged: JudgedResponse[];
  /** Mean of the parsed scores; null when none parsed. */
  average: number | null;
  /** How many replies held a score. */
  scored: number;
  /** How many did not. */
  unparsed: number;
}

/** Asks the judge about each response in turn (endpoint errors propagate as JudgeErrors). */
export async function scoreResponses(
  judge: Judge,
  responses: InstructionResponse[],
  onScore?: (judged: JudgedResponse) => void,
): Promise<JudgeSummary> {
  const judged: JudgedResponse[] = [];
  for (const [index, response] of responses.entries()) {
    const reply = await judge.complete(judgePrompt(response));
    const result = { index, score: parseScore(reply), reply };
    judged.push(result);
    onScore?.(result);
  }
  const scores = judged.map((j) => j.score).filter((s): s is number => s !== null);
  return {
    judged,
    average: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
    scored: scores.length,
    unparsed: judged.length - scores.length,
  };
}
