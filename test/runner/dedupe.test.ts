import { describe, expect, it } from 'vitest';
import type { Feature } from '../../src/shared/geojson.js';
import { CLIPPED, DEFAULT_DEDUPE, dedupe, type DedupeOptions } from '../../src/runner/dedupe.js';
import { topClass } from '../../src/runner/model-output.js';

type Box = [number, number, number, number];

const detection = (box: Box, score: number, iri = 'car', id?: string): Feature => ({
  type: 'Feature',
  ...(id === undefined ? {} : { id }),
  geometry: null,
  properties: { imageBBox: box, featureClasses: [{ iri, score }] },
});
const ids = (features: Feature[]): unknown[] => features.map((f) => f.id);
const NMS: DedupeOptions = { ...DEFAULT_DEDUPE, algorithm: 'NMS' };
const SOFT: DedupeOptions = { ...DEFAULT_DEDUPE, algorithm: 'SOFT_NMS' };

describe('dedupe: NMS', () => {
  it('has OSML defaults', () => {
    expect(DEFAULT_DEDUPE).toEqual({ algorithm: 'NMS', iouThreshold: 0.75, sigma: 0.1, skipBoxThreshold: 0.0001 });
  });

  it('keeps the higher-scoring of two overlapping boxes of one class, in input order', () => {
    const features = [
      detection([0, 0, 100, 100], 0.6, 'car', 'low'),
      detection([500, 500, 600, 600], 0.1, 'car', 'alone'),
      detection([1, 1, 100, 100], 0.9, 'car', 'high'),
    ];
    const kept = dedupe(features, NMS);
    expect(ids(kept)).toEqual(['alone', 'high']);
    expect(kept[1]).toBe(features[2]);
  });

  it('breaks equal scores by input order', () => {
    const kept = dedupe([detection([0, 0, 10, 10], 0.5, 'car', 'a'), detection([0, 0, 10, 10], 0.5, 'car', 'b')], NMS);
    expect(ids(kept)).toEqual(['a']);
  });

  it('never lets one class suppress another', () => {
    const features = [
      detection([0, 0, 100, 100], 0.9, 'car', 'car'),
      detection([0, 0, 100, 100], 0.5, 'truck', 'truck'),
    ];
    expect(ids(dedupe(features, NMS))).toEqual(['car', 'truck']);
  });

  it('keeps a box whose IoU equals the threshold exactly, drops one just above', () => {
    // [0,0,100,100] vs [0,0,100,50]: IoU 0.5; vs [0,0,100,51]: IoU 0.51.
    const at = [detection([0, 0, 100, 100], 0.9, 'car', 'a'), detection([0, 0, 100, 50], 0.8, 'car', 'b')];
    expect(ids(dedupe(at, { ...NMS, iouThreshold: 0.5 }))).toEqual(['a', 'b']);
    const above = [detection([0, 0, 100, 100], 0.9, 'car', 'a'), detection([0, 0, 100, 51], 0.8, 'car', 'b')];
    expect(ids(dedupe(above, { ...NMS, iouThreshold: 0.5 }))).toEqual(['a']);
  });

  it('keeps disjoint and merely touching boxes', () => {
    const features = [0, 10, 20, 30].map((x, i) => detection([x, 0, x + 10, 10], 0.5, 'car', `t${i}`));
    expect(ids(dedupe(features, { ...NMS, iouThreshold: 0 }))).toEqual(['t0', 't1', 't2', 't3']);
  });

  it('reduces one object seen by 2 tiles, and another seen by 4 tiles at a corner, to one each', () => {
    const seam = [
      detection([970, 400, 1030, 460], 0.92, 'car', 'left'),
      detection([974, 400, 1030, 460], 0.88, 'car', 'right'),
    ];
    const corner = [
      detection([960, 960, 1010, 1010], 0.95, 'car', 'nw'),
      detection([974, 960, 1010, 1010], 0.9, 'car', 'ne'),
      detection([960, 974, 1010, 1010], 0.91, 'car', 'sw'),
      detection([974, 974, 1010, 1010], 0.85, 'car', 'se'),
    ];
    expect(ids(dedupe([...seam, ...corner], { ...NMS, iouThreshold: 0.5 }))).toEqual(['left', 'nw']);
  });

  it('widens zero-width boxes by 0.1 px so that points can still be de-duplicated', () => {
    const points = [detection([5, 5, 5, 5], 0.9, 'pt', 'a'), detection([5, 5, 5, 5], 0.8, 'pt', 'b')];
    expect(ids(dedupe(points, NMS))).toEqual(['a']);
  });

  it('groups features without classes together (score -1) and keeps features without a box', () => {
    const bare = (box: unknown, id: string): Feature => ({
      type: 'Feature',
      id,
      geometry: null,
      properties: { imageBBox: box },
    });
    const kept = dedupe([bare([0, 0, 10, 10], 'a'), bare([0, 0, 10, 10], 'b'), bare(undefined, 'c')], NMS);
    expect(ids(kept)).toEqual(['a', 'c']);
  });

  it('matches a naive O(n²) reference on 2000 random boxes', () => {
    const random = mulberry32(42);
    const int = (max: number): number => Math.floor(random() * max);
    const boxes: Box[] = [];
    for (let i = 0; i < 2000; i++) {
      // Half are jittered copies of an earlier box, as overlapping tiles report them.
      const base = i > 0 && random() < 0.5 ? boxes[int(i)] : undefined;
      const [x, y] = base === undefined ? [int(2000), int(2000)] : [base[0] + int(7) - 3, base[1] + int(7) - 3];
      const [w, h] = base === undefined ? [int(80), int(80)] : [base[2] - base[0] + int(5) - 2, base[3] - base[1]];
      boxes.push([x, y, x + Math.max(0, w), y + h]);
    }
    const features = boxes.map((box, i) =>
      detection(box, Math.round(random() * 20) / 20, random() < 0.7 ? 'car' : 'truck', `f${i}`),
    );
    for (const iouThreshold of [0, 0.1, 0.3, 0.5, 0.75]) {
      const kept = dedupe(features, { ...NMS, iouThreshold });
      expect(ids(kept)).toEqual(ids(naiveNms(features, iouThreshold)));
      expect(kept.length).toBeLessThan(features.length);
    }
  });
});

describe('dedupe: SOFT_NMS', () => {
  const gaussian = (iou: number, sigma: number): number => Math.exp(-(iou * iou) / sigma);

  it('decays an overlapping box by exp(-(IoU²)/sigma) and keeps the raw score', () => {
    const features = [detection([0, 0, 100, 100], 0.9, 'car', 'a'), detection([0, 0, 100, 50], 0.8, 'car', 'b')];
    const kept = dedupe(features, SOFT);
    expect(ids(kept)).toEqual(['a', 'b']);
    expect(kept[0]?.properties?.['featureClasses']).toEqual([{ iri: 'car', score: 0.9, rawScore: 0.9 }]);
    const b = (kept[1]?.properties?.['featureClasses'] as { score: number; rawScore: number }[])[0];
    expect(b?.rawScore).toBe(0.8);
    expect(b?.score).toBeCloseTo(0.8 * gaussian(0.5, 0.1), 12);
    expect(features[1]?.properties?.['featureClasses']).toEqual([{ iri: 'car', score: 0.8 }]);
  });

  it('re-ranks by the decayed score before decaying the next box', () => {
    // IoU(a,b) 0.8, IoU(a,c) 2/3, IoU(b,c) 0.5: a decays b below c, so c is taken next and decays b again.
    const features = [
      detection([0, 0, 100, 100], 0.9, 'car', 'a'),
      detection([0, 0, 100, 80], 0.7, 'car', 'b'),
      detection([0, 20, 100, 120], 0.5, 'car', 'c'),
    ];
    const [a, b, c] = dedupe(features, { ...SOFT, sigma: 0.5 }).map((f) => topClass(f).score);
    const cScore = 0.5 * gaussian(80 / 120, 0.5);
    const bAfterA = 0.7 * gaussian(0.8, 0.5);
    expect(cScore).toBeGreaterThan(bAfterA);
    expect(a).toBe(0.9);
    expect(c).toBeCloseTo(cScore, 12);
    expect(b).toBeCloseTo(bAfterA * gaussian(0.5, 0.5), 12);
  });

  it('drops boxes decayed to skipBoxThreshold or below, and leaves other classes alone', () => {
    const features = [
      detection([0, 0, 100, 100], 0.9, 'car', 'a'),
      detection([0, 0, 100, 100], 0.9, 'car', 'same'),
      detection([0, 0, 100, 100], 0.5, 'truck', 'other'),
    ];
    expect(ids(dedupe(features, SOFT))).toEqual(['a', 'other']);
    expect(ids(dedupe(features, { ...SOFT, skipBoxThreshold: 0 }))).toEqual(['a', 'same', 'other']);
    expect(ids(dedupe([detection([0, 0, 1, 1], 0.3, 'x', 'low')], { ...SOFT, skipBoxThreshold: 0.3 }))).toEqual([]);
  });
});

describe('dedupe: NONE and options', () => {
  it('returns a copy of the input for NONE', () => {
    const features = [detection([0, 0, 10, 10], 0.9), detection([0, 0, 10, 10], 0.8)];
    const out = dedupe(features, { ...DEFAULT_DEDUPE, algorithm: 'NONE' });
    expect(out).toEqual(features);
    expect(out).not.toBe(features);
  });

  it.each([
    ['algorithm', { algorithm: 'WBF' }],
    ['iouThreshold', { iouThreshold: 1.5 }],
    ['iouThreshold', { iouThreshold: Number.NaN }],
    ['sigma', { sigma: 0 }],
    ['skipBoxThreshold', { skipBoxThreshold: -1 }],
  ])('rejects a bad %s with a RangeError', (name, override) => {
    const options = { ...DEFAULT_DEDUPE, ...override } as DedupeOptions;
    expect(() => dedupe([], options)).toThrow(RangeError);
    expect(() => dedupe([], options)).toThrow(`\`${name}\``);
  });
});

/** Deterministic PRNG, so the reference comparison always runs on the same boxes. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Textbook intersection over union, for the reference implementations below. */
function iou(a: Box, b: Box): number {
  const area = (box: Box): number => (box[2] - box[0]) * (box[3] - box[1]);
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  return (w * h) / (area(a) + area(b) - w * h);
}

/** Textbook greedy NMS: every box against every kept box of its class. */
function naiveNms(features: Feature[], threshold: number): Feature[] {
  const boxOf = (f: Feature): Box => {
    const [x0, y0, x1, y1] = f.properties?.['imageBBox'] as Box;
    return [x0, y0, x1 === x0 ? x1 + 0.1 : x1, y1 === y0 ? y1 + 0.1 : y1];
  };
  const order = features.map((f, i) => ({ f, i, ...topClass(f) })).sort((a, b) => b.score - a.score || a.i - b.i);
  const kept: typeof order = [];
  for (const c of order) {
    if (kept.every((k) => k.iri !== c.iri || iou(boxOf(k.f), boxOf(c.f)) <= threshold)) kept.push(c);
  }
  return kept.sort((a, b) => a.i - b.i).map((k) => k.f);
}

describe('dedupe: slivers a tile saw of an object on its edge', () => {
  const clipped = (feature: Feature): Feature => Object.assign(feature, { [CLIPPED]: true });

  it('drops a clipped box lying inside an unclipped box of its class, which IoU alone would keep', () => {
    const whole = detection([100, 200, 116, 216], 0.9, 'car', 'whole');
    const sliver = clipped(detection([112, 200, 116, 216], 0.9, 'car', 'sliver'));
    expect(ids(dedupe([whole, sliver], NMS))).toEqual(['whole']);
    expect(ids(dedupe([whole, sliver], SOFT))).toEqual(['whole']);
    expect(ids(dedupe([whole, sliver], { ...NMS, algorithm: 'NONE' }))).toEqual(['whole', 'sliver']);
  });

  it('keeps a clipped box when the box around it is also clipped, of another class, or holds too little of it', () => {
    const sliverA = clipped(detection([112, 200, 128, 216], 0.9, 'car', 'a'));
    const sliverB = clipped(detection([100, 200, 128, 216], 0.8, 'car', 'b'));
    expect(ids(dedupe([sliverA, sliverB], NMS))).toEqual(['a', 'b']);
    const truck = detection([100, 200, 130, 216], 0.9, 'truck', 'truck');
    expect(ids(dedupe([truck, clipped(detection([112, 200, 116, 216], 0.9, 'car', 'c'))], NMS))).toEqual([
      'truck',
      'c',
    ]);
    const half = detection([100, 200, 114, 216], 0.9, 'car', 'half');
    expect(ids(dedupe([half, clipped(detection([110, 200, 118, 216], 0.9, 'car', 'd'))], NMS))).toEqual(['half', 'd']);
  });

  it('never writes the mark into the GeoJSON', () => {
    expect(JSON.stringify(clipped(detection([0, 0, 1, 1], 1)))).not.toContain('clipped');
  });
});

describe('dedupe: SOFT_NMS against a naive reference', () => {
  /** Textbook soft-NMS: take the best remaining box of a class, decay every other by its IoU, repeat. */
  function naiveSoftNms(features: Feature[], { sigma, skipBoxThreshold }: DedupeOptions): Map<number, number> {
    const items = features.map((f, i) => ({ i, box: f.properties?.['imageBBox'] as Box, ...topClass(f) }));
    const kept = new Map<number, number>();
    for (const iri of new Set(items.map((item) => item.iri))) {
      const left = items.filter((item) => item.iri === iri);
      while (left.length > 0) {
        let best = 0;
        left.forEach((item, k) => {
          const top = left[best]!;
          if (item.score > top.score || (item.score === top.score && item.i < top.i)) best = k;
        });
        const [top] = left.splice(best, 1);
        if (top!.score <= skipBoxThreshold) break;
        kept.set(top!.i, top!.score);
        for (const other of left) {
          const overlap = iou(top!.box, other.box);
          if (overlap > 0) other.score = other.score * Math.exp(-(overlap * overlap) / sigma);
        }
      }
    }
    return kept;
  }
  const scoresOf = (kept: Feature[]): [unknown, number][] => kept.map((f) => [f.id, topClass(f).score]);
  const expected = (features: Feature[], reference: Map<number, number>): [unknown, number][] =>
    [...reference].sort(([a], [b]) => a - b).map(([i, score]) => [features[i]?.id, score]);

  it('keeps the same boxes with the same decayed scores, exactly, on 1500 random boxes', () => {
    const random = mulberry32(7);
    const int = (max: number): number => Math.floor(random() * max);
    const boxes: Box[] = [];
    for (let i = 0; i < 1500; i++) {
      const base = i > 0 && random() < 0.6 ? boxes[int(i)] : undefined;
      const [x, y] = base === undefined ? [int(1500), int(1500)] : [base[0] + int(9) - 4, base[1] + int(9) - 4];
      const side = base === undefined ? 5 + int(60) : base[2] - base[0];
      boxes.push([x, y, x + side, y + side + int(3)]);
    }
    // Scores on a coarse grid, so ties are common; three classes.
    const features = boxes.map((box, i) =>
      detection(box, Math.round(random() * 10) / 10, ['car', 'truck', 'bus'][int(3)], `f${i}`),
    );
    for (const options of [SOFT, { ...SOFT, sigma: 0.5, skipBoxThreshold: 0.05 }, { ...SOFT, skipBoxThreshold: 0 }]) {
      const kept = dedupe(features, options);
      expect(kept.length).toBeGreaterThan(100);
      expect(scoresOf(kept)).toEqual(expected(features, naiveSoftNms(features, options)));
    }
  });

  it('a decay too small to change a score (exp rounds to 1) never takes a box twice', () => {
    // a and b overlap by 1e-10 px²: b's "decayed" score is its own, queued a second time.
    const features = [
      detection([0, 0, 1000, 1000], 0.9, 'car', 'a'),
      detection([999.99999, 999.99999, 2000, 2000], 0.8, 'car', 'b'),
      detection([1500, 1500, 2500, 2500], 0.7, 'car', 'c'),
    ];
    const kept = dedupe(features, SOFT);
    expect(scoresOf(kept)).toEqual(expected(features, naiveSoftNms(features, SOFT)));
    expect(topClass(kept[1]!).score).toBe(0.8);
  });

  it('decays only the top class of a feature; its other classes keep their scores', () => {
    const features = [
      detection([0, 0, 100, 100], 0.95, 'car', 'a'),
      {
        ...detection([0, 0, 100, 50], 0.9, 'car', 'b'),
        properties: {
          imageBBox: [0, 0, 100, 50],
          featureClasses: [
            { iri: 'van', score: 0.3 },
            { iri: 'car', score: 0.9 },
          ],
        },
      },
    ];
    const b = dedupe(features, SOFT)[1];
    expect(b?.properties?.['featureClasses']).toEqual([
      { iri: 'van', score: 0.3 },
      { iri: 'car', score: 0.9 * Math.exp(-(0.5 * 0.5) / 0.1), rawScore: 0.9 },
    ]);
  });
});

describe('dedupe: boxes it cannot use are kept as they are, never compared', () => {
  it.each([
    ['a string', [0, 0, 10, '10']],
    ['an infinite number', [0, 0, Number.POSITIVE_INFINITY, 10]],
    ['three numbers', [0, 0, 10]],
    ['five numbers', [0, 0, 10, 10, 10]],
    ['minX > maxX', [10, 0, 0, 10]],
    ['minY > maxY', [0, 10, 10, 0]],
    ['not an array', '0,0,10,10'],
  ])('%s', (_label, imageBBox) => {
    const twin = (id: string): Feature => ({
      type: 'Feature',
      id,
      geometry: null,
      properties: { imageBBox, featureClasses: [{ iri: 'car', score: 0.9 }] },
    });
    for (const options of [NMS, SOFT]) expect(dedupe([twin('a'), twin('b')], options)).toEqual([twin('a'), twin('b')]);
  });
});

describe('dedupe: coordinates too large for the 0.1 px widening', () => {
  it('keeps two flat boxes at x = 1e20 as they are, never decaying a score to NaN', () => {
    const far = (id: string): Feature => detection([1e20, 5, 1e20, 5], 0.9, 'car', id);
    const kept = dedupe([far('a'), far('b')], SOFT);
    expect(ids(kept)).toEqual(['a', 'b']);
    expect(kept.map((f) => topClass(f).score)).toEqual([0.9, 0.9]);
  });
});

describe('dedupe: options, with what each must be', () => {
  it.each([
    [{ algorithm: 'WBF' }, '`algorithm` must be NMS, SOFT_NMS or NONE; received WBF'],
    [{ iouThreshold: -0.1 }, '`iouThreshold` must be a number from 0 to 1; received -0.1'],
    [{ iouThreshold: 1.01 }, '`iouThreshold` must be a number from 0 to 1; received 1.01'],
    [{ sigma: 0 }, '`sigma` must be a finite number > 0; received 0'],
    [{ sigma: Number.POSITIVE_INFINITY }, '`sigma` must be a finite number > 0; received Infinity'],
    [{ skipBoxThreshold: -1 }, '`skipBoxThreshold` must be a finite number >= 0; received -1'],
    [{ skipBoxThreshold: Number.NaN }, '`skipBoxThreshold` must be a finite number >= 0; received NaN'],
  ])('refuses %j', (override, message) => {
    expect(() => dedupe([], { ...DEFAULT_DEDUPE, ...override } as DedupeOptions)).toThrow(new RangeError(message));
  });

  it('accepts the ends of each range: iouThreshold 0 and 1, skipBoxThreshold 0', () => {
    const twins = [detection([0, 0, 10, 10], 0.9, 'car', 'a'), detection([0, 0, 10, 10], 0.8, 'car', 'b')];
    expect(ids(dedupe(twins, { ...NMS, iouThreshold: 1 }))).toEqual(['a', 'b']);
    expect(ids(dedupe(twins, { ...NMS, iouThreshold: 0 }))).toEqual(['a']);
    expect(ids(dedupe(twins, { ...SOFT, skipBoxThreshold: 0 }))).toEqual(['a', 'b']);
  });
});

describe('dedupe: slivers, at the edges of the rule', () => {
  const clipped = (feature: Feature): Feature => Object.assign(feature, { [CLIPPED]: true });
  const loose = { ...NMS, iouThreshold: 0.95 };

  it('drops a sliver exactly 90 % inside a whole box (IoU 0.82 alone would keep it)', () => {
    const whole = detection([0, 0, 10, 10], 0.9, 'car', 'whole');
    expect(ids(dedupe([whole, clipped(detection([1, 0, 11, 10], 0.9, 'car', 's'))], loose))).toEqual(['whole']);
  });

  it('keeps a sliver that sticks out below the whole box (half inside)', () => {
    const whole = detection([100, 200, 116, 214], 0.9, 'car', 'whole');
    const sliver = clipped(detection([100, 210, 116, 218], 0.9, 'car', 's'));
    expect(ids(dedupe([whole, sliver], loose))).toEqual(['whole', 's']);
  });

  it('knows the mark by its registered symbol, as a plugin built against its own copy of the package sets it', () => {
    const whole = detection([0, 0, 16, 16], 0.9, 'car', 'whole');
    const sliver = Object.assign(detection([12, 0, 16, 16], 0.9, 'car', 's'), {
      [Symbol.for('osml-extensions.clippedByTile')]: true,
    });
    expect(ids(dedupe([whole, sliver], NMS))).toEqual(['whole']);
  });
});
