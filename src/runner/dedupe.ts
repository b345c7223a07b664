/**
 * De-duplication of the features found in overlapping tiles, run once over the whole image with
 * OSML's selectors (per-class NMS or Gaussian soft-NMS on pixel boxes), indexed so it stays fast on
 * hundreds of thousands of features.
 */
import Flatbush from 'flatbush';
import type { Feature } from '../shared/geojson.js';
import { findTopClassIndex, topClass, type FeatureClass } from './model-output.js';

/** How {@link dedupe} selects among overlapping features (OSML's `FEATURE_DISTILLATION` step). */
export interface DedupeOptions {
  /** `NMS` drops overlapping boxes, `SOFT_NMS` decays their scores, `NONE` keeps everything. */
  algorithm: 'NMS' | 'SOFT_NMS' | 'NONE';
  /** NMS: a box is dropped when its IoU with a kept box of its class is strictly greater. @defaultValue 0.75 */
  iouThreshold: number;
  /** SOFT_NMS: width of the Gaussian decay `exp(-(IoU²)/sigma)`. @defaultValue 0.1 */
  sigma: number;
  /** SOFT_NMS: a box whose decayed score is at or below this is dropped. @defaultValue 0.0001 */
  skipBoxThreshold: number;
}

/** OSML's defaults: NMS at IoU 0.75; soft-NMS sigma 0.1 and skip threshold 0.0001. */
export const DEFAULT_DEDUPE: Readonly<DedupeOptions> = {
  algorithm: 'NMS',
  iouThreshold: 0.75,
  sigma: 0.1,
  skipBoxThreshold: 0.0001,
};

/**
 * Marks a feature whose box touches the edge of the tile that saw it: the model may have seen only
 * part of the object. A symbol key, so it never reaches the GeoJSON written out.
 */
export const CLIPPED: unique symbol = Symbol.for('osml-extensions.clippedByTile');

/** A clipped box this much inside another box of its class is the part a neighbouring tile saw whole. */
const CONTAINED = 0.9;

/** `[minX, minY, maxX, maxY]` in full-image pixels. */
type Box = readonly [number, number, number, number];

/** One feature taking part in selection; `item` is its position in the input. */
interface Candidate {
  item: number;
  box: Box;
  score: number;
  clipped: boolean;
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The feature's `imageBBox`, with OSML's +0.1 px on a zero width or height; undefined when unusable. */
function readBox(feature: Feature): Box | undefined {
  const bbox = feature.properties?.['imageBBox'];
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isFiniteNumber)) return undefined;
  const [minX, minY, maxX, maxY] = bbox as [number, number, number, number];
  if (minX > maxX || minY > maxY) return undefined;
  return [minX, minY, maxX === minX ? maxX + 0.1 : maxX, maxY === minY ? maxY + 0.1 : maxY];
}

/** The area two boxes share (0 when they are apart or only touch). */
function sharedArea(a: Box, b: Box): number {
  const width = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const height = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return Math.max(0, width) * Math.max(0, height);
}

/** A box's area; {@link readBox} widens a flat box by 0.1 px, which keeps it above 0 below 2^50 px. */
const area = (box: Box): number => (box[2] - box[0]) * (box[3] - box[1]);

/** Intersection over union of two boxes (0 when they only touch, or are flat beyond widening). */
function iou(a: Box, b: Box): number {
  const overlap = sharedArea(a, b);
  // 0 / 0 for two flat boxes at coordinates too large to widen: never a NaN score.
  return overlap / (area(a) + area(b) - overlap) || 0;
}

/** The share of `inner`'s area that lies inside `outer`. */
const containedShare = (inner: Box, outer: Box): number => sharedArea(inner, outer) / area(inner);

/**
 * Drops the clipped copies of objects another tile saw whole. IoU cannot do it: the sliver a tile
 * sees of an object on its edge overlaps the whole object only a little. Objects larger than the
 * tile overlap are clipped in every tile and are left to NMS.
 */
function dropClippedCopies(candidates: Candidate[]): Candidate[] {
  if (!candidates.some((c) => c.clipped)) return candidates;
  const index = indexBoxes(candidates);
  return candidates.filter(({ box, clipped }, position) => {
    if (!clipped) return true;
    return !index.search(box[0], box[1], box[2], box[3]).some((other) => {
      const whole = candidates[other] as Candidate;
      return other !== position && !whole.clipped && containedShare(box, whole.box) >= CONTAINED;
    });
  });
}

/** A spatial index over the candidates' boxes; search results are positions in `candidates`. */
function indexBoxes(candidates: readonly Candidate[]): Flatbush {
  const index = new Flatbush(candidates.length);
  for (const { box } of candidates) index.add(box[0], box[1], box[2], box[3]);
  index.finish();
  return index;
}

/** Higher score first; equal scores keep input order (candidates are in input order, and sort is stable). */
const byScore = (a: Candidate, b: Candidate): number => b.score - a.score;

/** Greedy NMS within one class; returns the input positions of the kept features. */
function suppress(candidates: Candidate[], iouThreshold: number): number[] {
  const order = [...candidates].sort(byScore);
  const index = indexBoxes(order);
  const dropped = new Uint8Array(order.length);
  const kept: number[] = [];
  order.forEach((candidate, rank) => {
    if (dropped[rank] === 1) return;
    kept.push(candidate.item);
    const { box } = candidate;
    for (const other of index.search(box[0], box[1], box[2], box[3])) {
      // Only lower-ranked boxes: a higher-ranked one was either kept already or dropped by a kept one.
      if (other > rank && dropped[other] !== 1 && iou(box, (order[other] as Candidate).box) > iouThreshold) {
        dropped[other] = 1;
      }
    }
  });
  return kept;
}

/** A max-heap of `(score, position)`; equal scores pop the lower position first. */
class ScoreHeap {
  private readonly scores: number[] = [];
  private readonly positions: number[] = [];

  get size(): number {
    return this.scores.length;
  }

  private above(i: number, j: number): boolean {
    const [si, sj] = [this.scores[i] as number, this.scores[j] as number];
    return si > sj || (si === sj && (this.positions[i] as number) < (this.positions[j] as number));
  }

  private swap(i: number, j: number): void {
    const { scores, positions } = this;
    const [score, position] = [scores[i] as number, positions[i] as number];
    scores[i] = scores[j] as number;
    positions[i] = positions[j] as number;
    scores[j] = score;
    positions[j] = position;
  }

  push(score: number, position: number): void {
    this.scores.push(score);
    this.positions.push(position);
    for (let i = this.size - 1; i > 0 && this.above(i, (i - 1) >> 1); i = (i - 1) >> 1) this.swap(i, (i - 1) >> 1);
  }

  /** Removes and returns the top entry; the heap must not be empty. */
  pop(): { score: number; position: number } {
    const top = { score: this.scores[0] as number, position: this.positions[0] as number };
    this.swap(0, this.size - 1);
    this.scores.pop();
    this.positions.pop();
    for (let i = 0; ;) {
      const [left, right] = [2 * i + 1, 2 * i + 2];
      let best = i;
      if (left < this.size && this.above(left, best)) best = left;
      if (right < this.size && this.above(right, best)) best = right;
      if (best === i) return top;
      this.swap(i, best);
      i = best;
    }
  }
}

/** Gaussian soft-NMS within one class; adds each kept feature's decayed score to `kept`. */
function softSuppress(candidates: Candidate[], options: DedupeOptions, kept: Map<number, number>): void {
  const index = indexBoxes(candidates);
  const scores = candidates.map((c) => c.score);
  const taken = new Uint8Array(candidates.length);
  const heap = new ScoreHeap();
  scores.forEach((score, position) => heap.push(score, position));
  while (heap.size > 0) {
    const { score, position } = heap.pop();
    // Decays re-insert a box instead of updating it in place; older entries are stale.
    if (taken[position] === 1 || score !== scores[position]) continue;
    // Every box left scores no higher than this one, and decay only lowers scores: all are dropped.
    if (score <= options.skipBoxThreshold) return;
    taken[position] = 1;
    kept.set((candidates[position] as Candidate).item, score);
    const { box } = candidates[position] as Candidate;
    for (const other of index.search(box[0], box[1], box[2], box[3])) {
      const overlap = taken[other] === 1 ? 0 : iou(box, (candidates[other] as Candidate).box);
      if (overlap === 0) continue;
      const decayed = (scores[other] as number) * Math.exp(-(overlap * overlap) / options.sigma);
      scores[other] = decayed;
      heap.push(decayed, other);
    }
  }
}

/** A copy of `feature` whose top class carries the decayed `score` and the original as `rawScore`. */
function withDecayedScore(feature: Feature, score: number): Feature {
  const top = findTopClassIndex(feature);
  const classes = feature.properties?.['featureClasses'] as FeatureClass[] | undefined;
  if (top < 0 || classes === undefined) return { ...feature, properties: { ...feature.properties } };
  const featureClasses = classes.map((c, k) => (k === top ? { ...c, score, rawScore: c.score } : c));
  return { ...feature, properties: { ...feature.properties, featureClasses } };
}

/** Throws a RangeError naming the first option that is out of range. */
function validate(options: DedupeOptions): void {
  const { algorithm, iouThreshold, sigma, skipBoxThreshold } = options;
  const bad = (name: string, value: unknown, expected: string): never => {
    throw new RangeError(`\`${name}\` must be ${expected}; received ${String(value)}`);
  };
  if (!['NMS', 'SOFT_NMS', 'NONE'].includes(algorithm)) bad('algorithm', algorithm, 'NMS, SOFT_NMS or NONE');
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) bad('iouThreshold', iouThreshold, 'a number from 0 to 1');
  if (!(sigma > 0 && Number.isFinite(sigma))) bad('sigma', sigma, 'a finite number > 0');
  if (!(skipBoxThreshold >= 0 && Number.isFinite(skipBoxThreshold))) {
    bad('skipBoxThreshold', skipBoxThreshold, 'a finite number >= 0');
  }
}

/**
 * Removes the duplicates that overlapping tiles report for one object, over the whole image.
 *
 * Boxes are the features' `imageBBox` (full-image pixels, as `readModelOutput` sets it); a
 * feature competes only with features of its top class ({@link topClass}). Features without a usable
 * `imageBBox` are kept untouched. As in OSML, a feature without `featureClasses` scores -1, so
 * `SOFT_NMS` drops it. First, a feature marked {@link CLIPPED} that lies (90 %) inside an unclipped
 * feature of its class is dropped: another tile saw that object whole.
 *
 * @returns The kept features in input order. `NMS` returns them as they were; `SOFT_NMS` returns new
 *   objects whose top class has the decayed `score` and the original as `rawScore`; `NONE` returns a
 *   copy of the input array.
 * @throws RangeError naming the option, when an option is out of range.
 * @example dedupe(features, { ...DEFAULT_DEDUPE, iouThreshold: 0.5 })
 */
export function dedupe(features: readonly Feature[], options: DedupeOptions): Feature[] {
  validate(options);
  if (options.algorithm === 'NONE') return [...features];
  const classes = new Map<string, Candidate[]>();
  const unchanged = new Set<number>();
  const decayed = new Map<number, number>();
  features.forEach((feature, item) => {
    const box = readBox(feature);
    if (box === undefined) {
      unchanged.add(item);
      return;
    }
    const { iri, score } = topClass(feature);
    let group = classes.get(iri);
    if (group === undefined) classes.set(iri, (group = []));
    group.push({ item, box, score, clipped: (feature as { [CLIPPED]?: boolean })[CLIPPED] === true });
  });
  for (const group of classes.values()) {
    const candidates = dropClippedCopies(group);
    if (options.algorithm === 'NMS') {
      for (const item of suppress(candidates, options.iouThreshold)) unchanged.add(item);
    } else {
      softSuppress(candidates, options, decayed);
    }
  }
  return features.flatMap((feature, item) => {
    if (unchanged.has(item)) return [feature];
    const score = decayed.get(item);
    return score === undefined ? [] : [withDecayedScore(feature, score)];
  });
}
