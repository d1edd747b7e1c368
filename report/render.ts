// Vega-Lite spec -> SVG (vega's headless SVG renderer: no canvas, no browser) -> PNG (resvg, a
// Rust rasteriser shipped prebuilt in its npm package; text in DejaVu Sans, shipped with kvsweep).
import { Resvg } from '@resvg/resvg-js';
import { createRequire } from 'node:module';
import { parse, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The SVG text of a chart. Inline data only: the view never loads anything. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vegaSpec } = compile(spec);
  const view = new View(parse(vegaSpec), { renderer: 'none', logLevel: Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Vega numbers clip paths and gradients with a counter per process; when one HTML page inlines
 * several SVGs, ids must also be unique per page, so each chart's ids get the chart's prefix.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]!);
  let out = svg;
  for (const id of new Set(ids)) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out
      .replace(new RegExp(`\\sid="${escaped}"`, 'g'), ` id="${prefix}-${id}"`)
      .replace(new RegExp(`url\\(#${escaped}\\)`, 'g'), `url(#${prefix}-${id})`)
      .replace(new RegExp(`href="#${escaped}"`, 'g'), `href="#${prefix}-${id}"`);
  }
  return out;
}

/**
 * The fonts of the PNGs, from the npm package dejavu-fonts-ttf: a host without system fonts (a GPU
 * node, a slim container) still gets text, and every machine draws the same pixels.
 */
export const FONT_FILES: readonly string[] = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((name) =>
  createRequire(import.meta.url).resolve(`dejavu-fonts-ttf/ttf/${name}`),
);

/** A PNG of the SVG at `scale` times its size (2: sharp on slides and high-density screens). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    // System fonts are not loaded: the shipped DejaVu Sans is what every chart names first.
    font: { fontFiles: [...FONT_FILES], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
