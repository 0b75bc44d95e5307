/** An LLM judge (ch. 7) over any OpenAI-compatible chat-completions endpoint. */
export { JudgeError } from './judge-error';
export {
  chatCompletionsUrl,
  JudgeClient,
  JUDGE_ENV,
  JUDGE_SCHEMES,
  judgeOptionsFrom,
  parseJudgeUrl,
} from './judge-client';
export type { JudgeOptions } from './judge-client';
export { judgePrompt, parseScore, scoreResponses } from './judge-scores';
export type { Judge, JudgedResponse, JudgeSummary } from './judge-scores';
