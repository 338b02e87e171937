// Render LaTeX formulas to MathML with KaTeX, without a browser (docray's olmOCR-bench math check).
// stdin: a JSON array of LaTeX strings. stdout: a JSON array, one {"mathml": "..."} or {"error": "..."} per input.
"use strict";
const katex = require("katex");

function render(latex) {
  try {
    return { mathml: katex.renderToString(String(latex), { output: "mathml", throwOnError: true, strict: "ignore" }) };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  let formulas;
  try {
    formulas = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    process.stderr.write(`render.js: stdin is not JSON: ${error.message}\n`);
    process.exit(2);
  }
  if (!Array.isArray(formulas)) {
    process.stderr.write("render.js: stdin must be a JSON array of strings\n");
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(formulas.map(render)));
});
