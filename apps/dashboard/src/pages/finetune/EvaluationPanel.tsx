/** A finetune's evaluation: accuracy per split and the confusion matrix, or the judged responses. */
import type { ReactElement } from 'react';
import {
  isClassificationEvaluation,
  type ClassificationEvaluation,
  type InstructionEvaluation,
} from '../../api/types';
import { ConfusionMatrix } from '../../components/ConfusionMatrix';
import { formatNumber, formatPercent } from '../../lib/format';

/** The evaluation of either kind (a note while there is none). */
export function EvaluationPanel({
  evaluation,
}: {
  evaluation: ClassificationEvaluation | InstructionEvaluation | undefined;
}): ReactElement {
  if (!evaluation) return <p className="empty">No evaluation yet (it runs when training ends).</p>;
  return isClassificationEvaluation(evaluation) ? (
    <ClassificationPanel evaluation={evaluation} />
  ) : (
    <ResponsesPanel evaluation={evaluation} />
  );
}

function ClassificationPanel({ evaluation }: { evaluation: ClassificationEvaluation }): ReactElement {
  return (
    <div className="two-columns">
      <table className="table" data-testid="accuracy">
        <thead>
          <tr>
            <th>Split</th>
            <th>Accuracy</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(evaluation.accuracy).map(([split, acc]) => (
            <tr key={split}>
              <td>{split}</td>
              <td>{formatPercent(acc)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfusionMatrix matrix={evaluation.confusionMatrix} labels={evaluation.labels} />
    </div>
  );
}

function ResponsesPanel({ evaluation }: { evaluation: InstructionEvaluation }): ReactElement {
  return (
    <div data-testid="responses">
      <p>
        Average judge score: <strong>{formatNumber(evaluation.averageScore, 1)}</strong>
        {evaluation.averageScore !== undefined && ' / 100'}
      </p>
      <table className="table">
        <thead>
          <tr>
            <th>Instruction</th>
            <th>Expected</th>
            <th>Model response</th>
            <th>Score</th>
          </tr>
        </thead>
        <tbody>
          {evaluation.responses.map((r, i) => (
            <tr key={i}>
              <td>
                {r.instruction}
                {r.input && <div className="muted">{r.input}</div>}
              </td>
              <td>{r.output}</td>
              <td>{r.response}</td>
              <td>{r.score ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
