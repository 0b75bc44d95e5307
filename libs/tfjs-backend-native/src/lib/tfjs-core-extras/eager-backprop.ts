/**
 * Backprop that frees each gradient once it has been used, as PyTorch's autograd does.
 *
 * tfjs-core 4.22's `engine.gradients()` (dist/engine.js, with `backpropagateGradients` of
 * dist/tape.js) runs the whole backward pass in one `tidy('backward')` and frees nothing until it
 * ends. So at the end of backward these all exist at once: the gradient of every activation (for
 * GPT-2 124M at B=4, T=256 that includes the 206 MB gradient of the [B·T, 50257] logits and every
 * layer's), every tensor the tape saved for the backward pass (the activations), the zero
 * gradients tfjs makes for outputs nothing depends on (attention probabilities: B·H·T² floats a
 * layer), and the parameter gradients.
 *
 * `eagerGradients` below replaces `engine.gradients`. It takes tfjs's own steps in tfjs's order —
 * the same tape, the same filtering (tfjs's `getFilteredNodesXToY`, loaded from its dist/), the
 * same gradient functions, the same accumulation with `add` — so the gradients are bit for bit
 * tfjs's. It differs from tfjs only in when tensors are disposed. After a tape node's input
 * gradients are computed:
 *
 * 1. the gradients of its outputs (its dys) are disposed;
 * 2. when two gradients of one tensor are summed, the new part is disposed as well as the old
 *    sum (tfjs disposes only the old sum);
 * 3. the zeros passed for outputs without a gradient are created here, not by the tape node, and
 *    disposed; for a fused kernel's saved-only output ({@link SAVED_ONLY_OUTPUTS}: attention
 *    probabilities, layer-norm statistics), which its gradient never reads, a scalar zero;
 * 4. the node's saved tensors are disposed (tfjs disposes them all at the end).
 *
 * Only a gradient this backward pass created and still holds nowhere else is disposed: one that
 * is tracked by the backward tidy's scope (tfjs's own `scopeId`), is not `tf.keep`-ed, is no longer
 * in the gradient map under any tensor, and is not the gradient of one of the requested `xs`. So
 * the caller's `dy`, any tensor a gradient function returns from outside (a variable, a tensor the
 * caller holds) and a tensor kept with `tf.keep` are never disposed. A customGrad's gradFunc may
 * read its `dy` (dataSync) while it runs; to use a dy after its gradFunc returns, keep it (or a
 * clone of it, which lives to the end of backward).
 *
 * Nested `gradients` calls (higher-order gradients) take tfjs's original path unchanged: there
 * the outer tape records the inner backward pass, and tfjs frees nothing until the outermost ends.
 *
 * The engine internals used (`state.activeTape`, `state.gradientDepth`, `state.activeScope`,
 * `startTape`, `endTape`, `scopedRun`, `tidy`, tape nodes' `outputs`, `inputs`, `gradient` and
 * `saved`) are those of tfjs-core 4.22.0: installing on another version throws, and so does a tape
 * node of another shape.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../errors/backend-error';
import { SAVED_ONLY_OUTPUTS } from '../kernel-names';
import { EsmFileLoader, tfjsCoreDistDir } from './esm-file-loader';

/** `eager`: free each gradient once used (default); `tfjs`: tfjs-core's own backprop. */
export type BackpropMode = 'eager' | 'tfjs';

/** The tfjs-core whose engine internals this file mirrors. */
const TFJS_CORE_VERSION = '4.22.0';

/** A tfjs tape node (tfjs-core/src/tape.ts), after tfjs's filtering. */
interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: tf.NamedTensorMap;
  gradient?: (dys: tf.Tensor[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

type GradientsFn = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

/** The parts of tfjs-core's Engine that gradients() uses. */
interface EngineInternals {
  state: {
    activeTape: TapeNode[] | null;
    gradientDepth: number;
    activeScope: { id: number; name: string } | null;
  };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: GradientsFn;
}

/** What a tensor carries in tfjs-core 4.22 besides its public fields. */
type TrackedTensor = tf.Tensor & { kept: boolean; scopeId?: number };

type FilterFn = (tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor) => TapeNode[];

let tfjsGradients: GradientsFn | undefined;
let filterTape: FilterFn | undefined;
let mode: BackpropMode = 'tfjs';

function incompatible(what: string, version = tf.version_core): BackendError {
  return new BackendError(
    `eager backprop: ${what}; it mirrors tfjs-core ${TFJS_CORE_VERSION}'s engine.gradients() and ` +
      `tape.js (found tfjs-core ${version})`,
    'compare node_modules/@tensorflow/tfjs-core/dist/engine.js gradients() and dist/tape.js with ' +
      'libs/tfjs-backend-native/src/lib/tfjs-core-extras/eager-backprop.ts and update it, or set ' +
      'FORGE_BACKPROP=tfjs',
  );
}

/** Throws unless `version` is the tfjs-core whose internals this file mirrors. */
export function assertMirroredTfjsCore(version: string = tf.version_core): void {
  if (version !== TFJS_CORE_VERSION) throw incompatible('unsupported tfjs-core version', version);
}

function engineInternals(): EngineInternals {
  const engine = tf.engine() as unknown as EngineInternals;
  assertMirroredTfjsCore();
  const state = engine.state as unknown as Record<string, unknown> | undefined;
  // activeTape and activeScope appear on first use; they are checked where they are read.
  for (const field of ['gradientDepth', 'kernelDepth', 'scopeStack']) {
    if (!state || !(field in state)) throw incompatible(`the engine has no state.${field}`);
  }
  for (const method of ['startTape', 'endTape', 'scopedRun', 'tidy', 'gradients'] as const) {
    if (typeof engine[method] !== 'function') throw incompatible(`the engine has no ${method}()`);
  }
  return engine;
}

/** tfjs's getFilteredNodesXToY, from tfjs-core's dist/tape.js. */
function tfjsFilterTape(): FilterFn {
  if (!filterTape) {
    const tape = new EsmFileLoader().load(path.join(tfjsCoreDistDir(), 'tape.js'));
    if (typeof tape.getFilteredNodesXToY !== 'function')
      throw incompatible('dist/tape.js exports no getFilteredNodesXToY');
    filterTape = tape.getFilteredNodesXToY as FilterFn;
  }
  return filterTape;
}

/**
 * Makes `engine.gradients` (and so tf.grad, tf.grads, tf.valueAndGrad(s), tf.variableGrads and
 * optimizers) eager (`eager`, see the file comment) or tfjs's own (`tfjs`). Idempotent.
 *
 * @throws BackendError for `eager` when tfjs-core is not the version whose internals this mirrors.
 */
export function setBackprop(next: BackpropMode): void {
  if (next !== 'eager' && next !== 'tfjs')
    throw new BackendError(`unknown backprop ${JSON.stringify(next)}: must be eager or tfjs`);
  if (next === mode) return;
  const engine = tf.engine() as unknown as EngineInternals;
  if (next === 'eager') {
    const internals = engineInternals();
    const filter = tfjsFilterTape();
    tfjsGradients = engine.gradients;
    engine.gradients = function gradients(f, xs, dy, allowNoGradients = false) {
      return eagerGradients(internals, filter, f, xs, dy, allowNoGradients);
    };
  } else {
    engine.gradients = tfjsGradients!;
  }
  mode = next;
}

/** The backprop engine.gradients runs now. */
export function backpropMode(): BackpropMode {
  return mode;
}

/** Installs the backprop FORGE_BACKPROP names (default `eager`). */
export function installBackprop(choice: string = process.env.FORGE_BACKPROP ?? 'eager'): void {
  const wanted = choice.trim().toLowerCase() || 'eager';
  if (wanted !== 'eager' && wanted !== 'tfjs')
    throw new BackendError(
      `unknown backprop ${JSON.stringify(choice)}: FORGE_BACKPROP must be eager or tfjs`,
      'unset FORGE_BACKPROP for the default, eager',
    );
  setBackprop(wanted);
}

/** tfjs-core 4.22's Engine.gradients with the disposal of the file comment. */
function eagerGradients(
  engine: EngineInternals,
  filter: FilterFn,
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy: tf.Tensor | undefined,
  allowNoGradients: boolean,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  // Inside another gradients() call: tfjs's own, so the outer tape records this backward pass.
  if (engine.state.gradientDepth > 0) return tfjsGradients!.call(engine, f, xs, dy, allowNoGradients);
  tf.util.assert(xs.length > 0, () => 'gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') {
    throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  }
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  tf.util.assert(y instanceof tf.Tensor, () => 'The result y returned by f() must be a tensor.');
  const tape = engine.state.activeTape;
  if (!tape) throw incompatible('the engine recorded no state.activeTape');
  // Filter out the nodes that don't connect x => y.
  const filteredTape = filter(tape, xs, y);
  if (!allowNoGradients && filteredTape.length === 0 && xs.length > 0) {
    throw new Error(
      'Cannot compute gradient of y=f(x) with respect to x. Make sure ' +
        'that the f you passed encloses all operations that lead from x ' +
        'to y.',
    );
  }
  const stray = savedOnlyOnPath(filteredTape, y);
  if (stray) {
    for (const node of tape) for (const tensor of node.saved ?? []) tensor.dispose();
    engine.state.activeTape = null;
    y.dispose();
    throw savedOnlyGradient(stray.kernelName, stray.output);
  }
  return engine.tidy('backward', () => {
    const scope = engine.state.activeScope;
    if (!scope) throw incompatible('tidy() opened no state.activeScope');
    const gradients = new GradientMap(scope.id, xs);
    gradients.set(y.id, dy ?? tf.ones(y.shape));
    backpropagateEagerly(engine, gradients, filteredTape);
    const grads = xs.map((x) => gradients.get(x.id)) as tf.Tensor[];
    // Not computing higher-order gradients (checked above): clean up the tape, as tfjs does.
    for (const node of tape) for (const tensor of node.saved ?? []) tensor.dispose();
    engine.state.activeTape = null;
    return { value: y, grads };
  });
}

/**
 * tfjs's accumulated-gradient map (tensor id → gradient), counting how many entries hold each
 * gradient tensor so that one is disposed only when no entry holds it.
 */
class GradientMap {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly holders = new Map<tf.Tensor, number>();
  private readonly requested: Set<number>;

  constructor(
    /** The backward tidy's scope: tensors tracked there were created by this backward pass. */
    private readonly scopeId: number,
    xs: tf.Tensor[],
  ) {
    this.requested = new Set(xs.map((x) => x.id));
  }

  get(id: number): tf.Tensor | undefined {
    return this.byId.get(id);
  }

  set(id: number, gradient: tf.Tensor): void {
    this.byId.set(id, gradient);
    this.holders.set(gradient, (this.holders.get(gradient) ?? 0) + 1);
  }

  /** Removes the entry of tensor `id`, unless `id` is one of the xs, and frees its gradient if unused. */
  drop(id: number): void {
    const gradient = this.byId.get(id);
    if (!gradient || this.requested.has(id)) return;
    this.byId.delete(id);
    this.release(gradient, 1);
  }

  /** Replaces the gradient of `id` with `sum` (= old + part) and frees the old one and `part`. */
  accumulate(id: number, part: tf.Tensor, sum: tf.Tensor): void {
    const old = this.byId.get(id)!;
    this.byId.set(id, sum);
    this.holders.set(sum, (this.holders.get(sum) ?? 0) + 1);
    this.release(old, 1);
    this.release(part, 0);
  }

  /** Whether some entry holds `tensor`. */
  holds(tensor: tf.Tensor): boolean {
    return this.holders.has(tensor);
  }

  private release(gradient: tf.Tensor, entries: number): void {
    const left = (this.holders.get(gradient) ?? 0) - entries;
    if (left > 0) {
      this.holders.set(gradient, left);
      return;
    }
    this.holders.delete(gradient);
    const tracked = gradient as TrackedTensor;
    if (!tracked.kept && tracked.scopeId === this.scopeId) gradient.dispose();
  }
}

/**
 * The first saved-only output ({@link SAVED_ONLY_OUTPUTS}) that y depends on through the filtered
 * tape, if any: a node takes it as an input, or it is y itself.
 */
function savedOnlyOnPath(
  filteredTape: TapeNode[],
  y: tf.Tensor,
): { kernelName: string; output: number } | undefined {
  const savedOnly = new Map<number, { kernelName: string; output: number }>();
  for (const { kernelName, outputs } of filteredTape) {
    for (const output of SAVED_ONLY_OUTPUTS[kernelName] ?? []) {
      if (outputs[output]) savedOnly.set(outputs[output].id, { kernelName, output });
    }
  }
  if (savedOnly.has(y.id)) return savedOnly.get(y.id);
  for (const node of filteredTape) {
    for (const x of Object.values(node.inputs)) if (savedOnly.has(x.id)) return savedOnly.get(x.id);
  }
  return undefined;
}

/** A loss that depends on a saved-only output, whose gradient the kernel's gradient would drop. */
function savedOnlyGradient(kernelName: string, output: number): BackendError {
  return new BackendError(
    `${kernelName} output ${output} is saved for the kernel's gradient only: nothing can be differentiated through it`,
    'compute the loss from output 0, or from the same values made with tfjs-core ops',
  );
}

/** tfjs-core 4.22's backpropagateGradients (dist/tape.js), disposing as the file comment says. */
function backpropagateEagerly(
  engine: EngineInternals,
  gradients: GradientMap,
  filteredTape: TapeNode[],
): void {
  // Walk the tape backward and keep a map of Tensor to its gradient.
  for (let i = filteredTape.length - 1; i >= 0; i--) {
    const node = filteredTape[i];
    if (!Array.isArray(node.outputs) || typeof node.inputs !== 'object' || !Array.isArray(node.saved))
      throw incompatible(`tape node ${node.kernelName} has no outputs, inputs or saved`);
    // tfjs passes null for an output outside the backprop subgraph and the node makes zeros for
    // it; the same zeros are made here, so that they can be freed after the node. A fused
    // kernel's saved-only output gets a scalar zero instead: its gradient never reads it.
    const zeros: tf.Tensor[] = [];
    const savedOnly = SAVED_ONLY_OUTPUTS[node.kernelName] ?? [];
    const dys = node.outputs.map((o, i) => {
      const gradTensor = gradients.get(o.id);
      if (gradTensor) return gradTensor;
      const zero = savedOnly.includes(i) ? tf.scalar(0) : tf.zeros(o.shape, o.dtype);
      zeros.push(zero);
      return zero;
    });
    if (node.gradient == null) {
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    }
    // Backprop dy through this node and accumulate gradients over the inputs.
    const inputGradients = node.gradient(dys);
    for (const inputName in node.inputs) {
      if (!(inputName in inputGradients)) {
        throw new Error(
          `Cannot backprop through input ${inputName}. ` +
            `Available gradients found: ${Object.keys(inputGradients)}.`,
        );
      }
      // Call the gradient function.
      const dx = engine.tidy(() => inputGradients[inputName]());
      if (dx.dtype !== 'float32') {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ` +
            `${inputName} must have 'float32' dtype, but has '${dx.dtype}'`,
        );
      }
      const x = node.inputs[inputName];
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ` +
            `'${inputName}' has shape '${dx.shape}', which does not match ` +
            `the shape of the input '${x.shape}'`,
        );
      }
      const current = gradients.get(x.id);
      if (current == null) gradients.set(x.id, dx);
      else gradients.accumulate(x.id, dx, tf.add(current, dx));
    }
    // Freed here, where tfjs frees them at the end of backward (the file comment's 1, 3, 4).
    const inputIds = new Set(Object.values(node.inputs).map((t) => t.id));
    for (const o of node.outputs) if (!inputIds.has(o.id)) gradients.drop(o.id);
    for (const tensor of [...zeros, ...node.saved]) if (!gradients.holds(tensor)) tensor.dispose();
  }
}
