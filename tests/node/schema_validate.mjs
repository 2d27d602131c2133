// Validates constrained generations against their JSON Schema with ajv (an independent
// validator): node schema_validate.mjs SCHEMA.json OUTPUTS.jsonl. Each JSONL line has "output".
// Exits 1 if any output fails to parse or to validate.
import fs from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [schemaPath, outputsPath] = process.argv.slice(2);
const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);
const lines = fs.readFileSync(outputsPath, "utf8").split("\n").filter((l) => l.length > 0);
let bad = 0;
for (const line of lines) {
  const rec = JSON.parse(line);
  let value;
  try {
    value = JSON.parse(rec.output);
  } catch (e) {
    bad++;
    console.error(`${schemaPath} seed ${rec.seed}: does not parse: ${JSON.stringify(rec.output)}`);
    continue;
  }
  if (!validate(value)) {
    bad++;
    console.error(`${schemaPath} seed ${rec.seed}: invalid: ${JSON.stringify(rec.output)}\n  ${ajv.errorsText(validate.errors)}`);
  }
}
console.log(`${schemaPath}: ${lines.length - bad}/${lines.length} valid`);
process.exit(bad === 0 && lines.length > 0 ? 0 : 1);
