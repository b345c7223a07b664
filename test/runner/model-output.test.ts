import { describe, expect, it } from 'vitest';
import { isExtensionError } from '../../src/shared/errors.js';
import type { Feature } from '../../src/shared/geojson.js';
import { findTopClassIndex, readModelOutput, topClass } from '../../src/runner/model-output.js';

const context = {
  tile: { x: 1000, y: 2000, width: 512, height: 512 },
  tileName: 'tile 7/9 (x=1000 y=2000 512x512)',
  endpoint: 'http://model/invocations',
};
const collection = (...features: unknown[]): string => JSON.stringify({ type: 'FeatureCollection', features });
const feature = (properties: unknown, extra: Record<string, unknown> = {}): unknown => ({
  type: 'Feature',
  geometry: null,
  properties,
  ...extra,
});
const readOne = (properties: unknown, extra?: Record<string, unknown>): Feature => {
  const features = readModelOutput(collection(feature(properties, extra)), context);
  expect(features).toHaveLength(1);
  return features[0] as Feature;
};
const box = (minX: number, minY: number, maxX: number, maxY: number): unknown => ({
  type: 'Polygon',
  coordinates: [
    [
      [minX, minY],
      [maxX, minY],
      [maxX, maxY],
      [minX, maxY],
      [minX, minY],
    ],
  ],
});

/** Asserts that reading `text` fails with MODEL_OUTPUT_INVALID naming the tile and the endpoint. */
function expectInvalid(text: string): void {
  let thrown: unknown;
  try {
    readModelOutput(text, context);
  } catch (error) {
    thrown = error;
  }
  expect(isExtensionError(thrown, 'MODEL_OUTPUT_INVALID')).toBe(true);
  const message = (thrown as Error).message;
  expect(message).toContain(context.tileName);
  expect(message).toContain(context.endpoint);
}

describe('readModelOutput: formats', () => {
  it('shifts a new-style Polygon imageGeometry and its imageBBox into full-image pixels', () => {
    const out = readOne(
      {
        imageGeometry: box(10, 20, 30, 40),
        imageBBox: [10, 20, 30, 40],
        featureClasses: [{ iri: 'car', score: 0.9 }],
        modelMetadata: { modelName: 'm' },
      },
      { id: 'abc' },
    );
    expect(out).toEqual({
      type: 'Feature',
      id: 'abc',
      geometry: null,
      properties: {
        imageGeometry: box(1010, 2020, 1030, 2040),
        imageBBox: [1010, 2020, 1030, 2040],
        featureClasses: [{ iri: 'car', score: 0.9 }],
        modelMetadata: { modelName: 'm' },
      },
    });
  });

  it('keeps a Point imageGeometry and the model bbox, shifting both (centerpoint model)', () => {
    const out = readOne({
      imageGeometry: { type: 'Point', coordinates: [0, 0] },
      imageBBox: [204.8, 204.8, 307.2, 307.2],
    });
    expect(out.properties?.['imageGeometry']).toEqual({ type: 'Point', coordinates: [1000, 2000] });
    expect(out.properties?.['imageBBox']).toEqual([1204.8, 2204.8, 1307.2, 2307.2]);
  });

  it('computes imageBBox as the extent of a MultiPolygon and keeps extra ordinates', () => {
    const geometry = {
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [0, 0, 5],
            [4, 0, 5],
            [4, 3, 5],
            [0, 0, 5],
          ],
        ],
        [
          [
            [10, 1],
            [12, 1],
            [12, 8],
            [10, 1],
          ],
        ],
      ],
    };
    const out = readOne({ imageGeometry: geometry });
    expect(out.properties?.['imageBBox']).toEqual([1000, 2000, 1012, 2008]);
    const shifted = out.properties?.['imageGeometry'] as { coordinates: number[][][][] };
    expect(shifted.coordinates[0]?.[0]?.[1]).toEqual([1004, 2000, 5]);
  });

  it('makes the box polygon of an imageBBox-only feature', () => {
    const out = readOne({ imageBBox: [1, 2, 3, 4], featureClasses: [{ iri: 'a', score: 1 }] });
    expect(out.properties?.['imageGeometry']).toEqual(box(1001, 2002, 1003, 2004));
    expect(out.properties?.['imageBBox']).toEqual([1001, 2002, 1003, 2004]);
  });

  it('closes a geom_imcoords ring into a Polygon and drops the deprecated properties', () => {
    const out = readOne({
      geom_imcoords: [
        [0, 0],
        [10, 0],
        [10, 5],
      ],
      image_id: 'x',
      detection_score: 0.5,
    });
    expect(out.properties).toEqual({
      imageGeometry: {
        type: 'Polygon',
        coordinates: [
          [
            [1000, 2000],
            [1010, 2000],
            [1010, 2005],
            [1000, 2000],
          ],
        ],
      },
      imageBBox: [1000, 2000, 1010, 2005],
      featureClasses: [{ iri: 'unknown', score: 0.5 }],
    });
  });

  it.each([
    [
      'already closed',
      [
        [0, 0],
        [4, 0],
        [4, 4],
        [0, 0],
      ],
      4,
    ],
    [
      'open, first and last differing in x only',
      [
        [0, 0],
        [4, 4],
        [0, 4],
        [4, 0],
      ],
      5,
    ],
    [
      'open, first and last differing in y only',
      [
        [0, 0],
        [4, 4],
        [4, 0],
        [0, 4],
      ],
      5,
    ],
  ])('closes a geom_imcoords ring only when it is open: %s', (_label, ring, length) => {
    const geometry = readOne({ geom_imcoords: ring })['properties']?.['imageGeometry'] as { coordinates: number[][][] };
    const [out] = geometry.coordinates;
    expect(out).toHaveLength(length);
    expect(out?.at(-1)).toEqual(out?.[0]);
  });

  it('reads a GeometryCollection imageGeometry, each member shifted, the box around all of them', () => {
    const props = readOne({
      imageGeometry: {
        type: 'GeometryCollection',
        geometries: [
          { type: 'Point', coordinates: [1, 2] },
          {
            type: 'LineString',
            coordinates: [
              [5, 6],
              [7, 9],
            ],
          },
        ],
      },
    })['properties'];
    expect(props?.['imageGeometry']).toEqual({
      type: 'GeometryCollection',
      geometries: [
        { type: 'Point', coordinates: [1001, 2002] },
        {
          type: 'LineString',
          coordinates: [
            [1005, 2006],
            [1007, 2009],
          ],
        },
      ],
    });
    expect(props?.['imageBBox']).toEqual([1001, 2002, 1007, 2009]);
  });

  it('takes a null property for an absent one (a Python model writes None), and reads the next form', () => {
    const props = readOne({
      imageGeometry: null,
      imageBBox: null,
      bounds_imcoords: [0, 0, 2, 2],
      featureClasses: null,
      detection_score: 0.5,
    })['properties'];
    expect(props?.['imageBBox']).toEqual([1000, 2000, 1002, 2002]);
    expect(props?.['featureClasses']).toEqual([{ iri: 'unknown', score: 0.5 }]);
  });

  it('adds no featureClasses key to a feature the model gave no classes', () => {
    expect(Object.keys(readOne({ imageBBox: [0, 0, 1, 1] })['properties'] ?? {}).sort()).toEqual([
      'imageBBox',
      'imageGeometry',
    ]);
  });

  it('accepts a box of zero width or height (a point, as a centre-point model gives it)', () => {
    expect(readOne({ imageBBox: [3, 4, 3, 4] })['properties']?.['imageBBox']).toEqual([1003, 2004, 1003, 2004]);
    expect(readOne({ imageBBox: [0, 4, 9, 4] })['properties']?.['imageBBox']).toEqual([1000, 2004, 1009, 2004]);
  });

  it('reads detection.pixelCoordinates with detection.type and keeps detection', () => {
    const detection = {
      type: 'LineString',
      pixelCoordinates: [
        [1, 1],
        [5, 9],
      ],
    };
    const out = readOne({ detection });
    expect(out.properties?.['imageGeometry']).toEqual({
      type: 'LineString',
      coordinates: [
        [1001, 2001],
        [1005, 2009],
      ],
    });
    expect(out.properties?.['imageBBox']).toEqual([1001, 2001, 1005, 2009]);
    expect(out.properties?.['detection']).toEqual(detection);
  });

  it('reads bounds_imcoords as a box and converts feature_types to featureClasses (OSML model style)', () => {
    const out = readOne(
      { bounds_imcoords: [5, 6, 7, 8], feature_types: { aircraft: 0.95, bird: 0.2 }, detection_score: 0.95 },
      { geometry: { type: 'Point', coordinates: [0, 0] } },
    );
    expect(out.geometry).toBeNull();
    expect(out.properties).toEqual({
      imageGeometry: box(1005, 2006, 1007, 2008),
      imageBBox: [1005, 2006, 1007, 2008],
      featureClasses: [
        { iri: 'aircraft', score: 0.95 },
        { iri: 'bird', score: 0.2 },
      ],
    });
  });

  it('follows OSML precedence: imageGeometry over imageBBox over the deprecated forms', () => {
    const out = readOne({
      imageBBox: [0, 0, 1, 1],
      geom_imcoords: [
        [0, 0],
        [50, 0],
        [50, 50],
      ],
      bounds_imcoords: [0, 0, 99, 99],
      featureClasses: [{ iri: 'new', score: 0.1 }],
      feature_types: { old: 0.9 },
    });
    expect(out.properties?.['imageGeometry']).toEqual(box(1000, 2000, 1001, 2001));
    expect(out.properties?.['featureClasses']).toEqual([{ iri: 'new', score: 0.1 }]);
  });

  it('returns no features for an empty collection and never mutates its input', () => {
    expect(readModelOutput(collection(), context)).toEqual([]);
    const props = { imageBBox: [1, 2, 3, 4], featureClasses: [{ iri: 'a', score: 1 }] };
    const text = collection(feature(props));
    const [first] = readModelOutput(text, context);
    const [second] = readModelOutput(text, context);
    expect(first).toEqual(second);
    expect(first?.properties?.['featureClasses']).not.toBe(second?.properties?.['featureClasses']);
  });

  it('removes prototype-poisoning keys from the model answer', () => {
    const text = `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":
      {"imageBBox":[0,0,1,1],"__proto__":{"polluted":true}}}]}`;
    const [out] = readModelOutput(text, context);
    expect(Object.getPrototypeOf(out?.properties)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('readModelOutput: rejections', () => {
  const good = { imageBBox: [0, 0, 1, 1] };
  const f0 = 'features[0] that has';
  const notBox = 'that is not [minx, miny, maxx, maxy] of finite numbers';
  const noShape = 'no pixel geometry (imageGeometry, imageBBox, geom_imcoords, detection, bounds_imcoords)';
  const notPosition = 'with a position that is not 2 or more finite numbers';
  const imageGeometry = (value: unknown) => collection(feature({ imageGeometry: value }));
  it.each([
    [
      'text that is not JSON, cut at 200 characters',
      'Internal Server Error '.repeat(50),
      `a body that is not JSON: ${'Internal Server Error '.repeat(10).slice(0, 199)}…`,
    ],
    [
      'an HTML page, on one line',
      '  <html>\n  <body>  oops </body>\n</html>\n',
      'a body that is not JSON: <html> <body> oops </body> </html>',
    ],
    ['exactly 200 characters, not cut', 'y'.repeat(200), `a body that is not JSON: ${'y'.repeat(200)}`],
    [
      'a huge body, of which only the start is read',
      `a${' '.repeat(300)}${'b'.repeat(300)}`,
      `a body that is not JSON: a ${'b'.repeat(99)}`,
    ],
    ['an empty body', '', 'an empty body'],
    ['a body of white space', ' \n\t ', 'an empty body'],
    ['an array', JSON.stringify([feature(good)]), 'an array, not a FeatureCollection'],
    ['null', 'null', 'null, not a FeatureCollection'],
    ['a number', '42', 'a number (42), not a FeatureCollection'],
    [
      'a Feature instead of a FeatureCollection',
      JSON.stringify(feature(good)),
      'an object with type "Feature", not a FeatureCollection',
    ],
    [
      'features that are not an array',
      JSON.stringify({ type: 'FeatureCollection', features: {} }),
      'a FeatureCollection whose features is an object without a type',
    ],
    ['no features', JSON.stringify({ type: 'FeatureCollection' }), 'a FeatureCollection whose features is missing'],
    [
      'a feature that is not a Feature',
      collection(feature(good), { type: 'Point', coordinates: [0, 0] }),
      'features[1] that is an object with type "Point", not a Feature',
    ],
    [
      'a feature with no pixel geometry',
      collection(feature(good), feature({ featureClasses: [] })),
      `features[1] that has ${noShape}`,
    ],
    ['a feature with null properties', collection(feature(null)), `${f0} ${noShape}`],
    [
      'a feature whose properties are an array',
      collection(feature([1, 2])),
      'features[0] whose properties are an array, not an object',
    ],
    [
      'a NaN-like coordinate',
      '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"imageBBox":[0,0,1,1e999]}}]}',
      `${f0} an imageBBox ${notBox} ([0,0,1,null])`,
    ],
    [
      'a string coordinate',
      imageGeometry({ type: 'Point', coordinates: ['1', 2] }),
      `${f0} an imageGeometry ${notPosition} (["1",2])`,
    ],
    [
      'a one-number position',
      imageGeometry({ type: 'Point', coordinates: [1] }),
      `${f0} an imageGeometry ${notPosition} ([1])`,
    ],
    [
      'coordinates nested too shallow',
      imageGeometry({ type: 'Polygon', coordinates: [[0, 0]] }),
      `${f0} an imageGeometry ${notPosition} (0)`,
    ],
    [
      'coordinates that are not arrays',
      imageGeometry({ type: 'LineString', coordinates: 5 }),
      `${f0} an imageGeometry whose coordinates are not nested arrays`,
    ],
    [
      'an unknown geometry type',
      imageGeometry({ type: 'Circle', coordinates: [0, 0] }),
      `${f0} an imageGeometry of unknown geometry type "Circle"`,
    ],
    [
      'a geometry without a type',
      imageGeometry({ coordinates: [0, 0] }),
      `${f0} an imageGeometry of unknown geometry type missing`,
    ],
    [
      'a geometry that is a string',
      imageGeometry('POINT (1 2)'),
      `${f0} an imageGeometry that is a string (POINT (1 2)), not a geometry`,
    ],
    [
      'a GeometryCollection without geometries',
      imageGeometry({ type: 'GeometryCollection' }),
      `${f0} an imageGeometry that is a GeometryCollection without a geometries array`,
    ],
    [
      'an empty geometry',
      imageGeometry({ type: 'MultiPoint', coordinates: [] }),
      `${f0} a pixel geometry without any position`,
    ],
    [
      'a bbox of the wrong length',
      collection(feature({ imageBBox: [0, 0, 1] })),
      `${f0} an imageBBox ${notBox} ([0,0,1])`,
    ],
    [
      'a bbox with min x above max x',
      collection(feature({ imageBBox: [5, 0, 1, 1] })),
      `${f0} an imageBBox whose minimum exceeds its maximum ([5,0,1,1])`,
    ],
    [
      'a bbox with min y above max y',
      collection(feature({ imageBBox: [0, 5, 1, 1] })),
      `${f0} an imageBBox whose minimum exceeds its maximum ([0,5,1,1])`,
    ],
    [
      'a bad bbox next to a good geometry',
      collection(feature({ imageGeometry: box(0, 0, 1, 1), imageBBox: 'x' })),
      `${f0} an imageBBox ${notBox} ("x")`,
    ],
    [
      'a bad bounds_imcoords',
      collection(feature({ bounds_imcoords: [0, 0, 'a', 1] })),
      `${f0} a bounds_imcoords ${notBox} ([0,0,"a",1])`,
    ],
    [
      'a bad detection.pixelCoordinates',
      collection(feature({ detection: { type: 'Point', pixelCoordinates: [1] } })),
      `${f0} a detection.pixelCoordinates ${notPosition} ([1])`,
    ],
    [
      'a geom_imcoords ring too short',
      collection(
        feature({
          geom_imcoords: [
            [0, 0],
            [1, 1],
          ],
        }),
      ),
      `${f0} a geom_imcoords that is not a ring of 3 or more positions`,
    ],
    ...(
      [
        ['featureClasses without scores', [{ iri: 'a' }]],
        ['featureClasses with a number for iri', [{ iri: 5, score: 0.5 }]],
        ['featureClasses with one bad entry among good ones', [{ iri: 'a', score: 0.5 }, { iri: 'b' }]],
        ['featureClasses holding null', [null]],
      ] as const
    ).map(([name, featureClasses]) => [
      name,
      collection(feature({ ...good, featureClasses })),
      `${f0} featureClasses that are not [{ iri: string, score: number }]`,
    ]),
    [
      'feature_types with a string score',
      collection(feature({ ...good, feature_types: { a: 0.5, b: 'high' } })),
      `${f0} feature_types that are not { iri: score }`,
    ],
    [
      'a detection_score that is a string',
      collection(feature({ ...good, detection_score: 'high' })),
      `${f0} a detection_score that is not a finite number`,
    ],
  ])('rejects %s, saying what it received', (_name, text, problem) => {
    expectInvalid(text);
    let thrown: unknown;
    try {
      readModelOutput(text, context);
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { params: { problem: string } }).params.problem).toBe(problem);
  });

  it('names the failing feature and keeps a non-JSON excerpt short', () => {
    try {
      readModelOutput(collection(feature({ imageBBox: [0, 0, 1, 1] }), feature({})), context);
      expect.unreachable();
    } catch (error) {
      expect(isExtensionError(error, 'MODEL_OUTPUT_INVALID') && error.params.problem).toMatch(/features\[1\]/);
    }
    try {
      readModelOutput('x'.repeat(10_000), context);
      expect.unreachable();
    } catch (error) {
      expect(isExtensionError(error, 'MODEL_OUTPUT_INVALID') && error.params.problem.length).toBeLessThan(260);
    }
  });
});

describe('topClass', () => {
  const withClasses = (featureClasses: unknown): Feature => ({
    type: 'Feature',
    geometry: null,
    properties: { featureClasses },
  });

  it('picks the highest score, the first among equals', () => {
    const f = withClasses([
      { iri: 'a', score: 0.2 },
      { iri: 'b', score: 0.7 },
      { iri: 'c', score: 0.7 },
    ]);
    expect(topClass(f)).toEqual({ iri: 'b', score: 0.7 });
    expect(findTopClassIndex(f)).toBe(1);
  });

  it("gives { iri: '', score: -1 } when there are no classes", () => {
    expect(topClass(withClasses([]))).toEqual({ iri: '', score: -1 });
    expect(topClass({ type: 'Feature', geometry: null, properties: null })).toEqual({ iri: '', score: -1 });
    expect(findTopClassIndex(withClasses(undefined))).toBe(-1);
    expect(findTopClassIndex(withClasses([]))).toBe(-1);
    expect(findTopClassIndex(withClasses([{ iri: 'no score' }, { score: 1 }]))).toBe(-1);
  });
});
