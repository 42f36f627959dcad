// Builds the small Hugging Face tokenizer.json files under Tests/data/tokenizers/ and the ids the
// reference implementation (Hugging Face `tokenizers`, the Rust library's Node binding) gives for a fixed
// set of strings: Tests/data/tokenizers/expected.json. The C# loader (Models/Data/HfTokenizer.cs) must
// reproduce these ids, decodings and vocabulary sizes (Tests/TokenizerJsonTests.cs).
//
// Usage (from the repository root):
//   npm install --prefix /tmp/tokref tokenizers@0.23.2
//   NODE_PATH=/tmp/tokref/node_modules node scripts/tokenizers/make_test_tokenizers.mjs
//
// The merges are learned here by a plain BPE count over the corpus below (deterministic: most frequent
// pair, ties broken by the pair's first occurrence), so the files do not depend on any trainer's version.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers');

const outDir = path.join('Tests', 'data', 'tokenizers');
fs.mkdirSync(outDir, { recursive: true });

const corpus = `
Mr. Speaker, Mr. Vice President, Members of Congress, my fellow Americans: the state of our union is strong.
We will build a better future for our children and for their children. It's time we'll do what they've asked.
The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs into the forest.
In 1790, George Washington gave the first address; in 2026 the speech was given for the 237th time.
Numbers like 3.14159, 2718 and 1000000 appear in budgets, taxes and the national debt of the nation.
The people of the United States of America will prevail, and the nation will endure for generations.
Hello world! Hello again, world. Tokenizers split text into tokens; tokens become ids; ids become text.
naïve café — résumé, façade, jalapeño, Zürich and Ålesund are words with accents.
日本語のテキストも少しあります。中文也有一点。
Emoji 🙂 and 🎉 are symbols too.
`;

// ---------------------------------------------------------------- BPE training (shared by both styles)

/** Learns `count` merges from `words` (a Map word → frequency, each word an array of symbols). */
function learnMerges(wordFreq, count) {
  const words = [...wordFreq.values()].map(w => ({ syms: [...w.syms], f: w.f }));
  const merges = [];
  for (let m = 0; m < count; m++) {
    const pairs = new Map();
    let order = 0;
    for (const w of words)
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const k = w.syms[i] + '\u0000' + w.syms[i + 1];
        const e = pairs.get(k);
        if (e) e.n += w.f; else pairs.set(k, { n: w.f, order: order++ });
      }
    let best = null;
    for (const [k, e] of pairs) if (!best || e.n > best.n || (e.n === best.n && e.order < best.order)) best = { k, ...e };
    if (!best || best.n < 2) break;
    const [a, b] = best.k.split('\u0000');
    merges.push([a, b]);
    for (const w of words) {
      const s = [];
      for (let i = 0; i < w.syms.length; i++)
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) { s.push(a + b); i++; } else s.push(w.syms[i]);
      w.syms = s;
    }
  }
  return merges;
}

function countWords(pieces) {
  const m = new Map();
  for (const p of pieces) {
    if (!p) continue;
    const e = m.get(p);
    if (e) e.f++; else m.set(p, { syms: [...p], f: 1 });
  }
  return new Map([...m.values()].map(v => [v.syms.join(''), v]));
}

// ---------------------------------------------------------------- byte-level BPE (GPT-2 style)

function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  return bs.map((b, i) => [b, String.fromCodePoint(cs[i])]);
}
const byteMap = bytesToUnicode();               // in GPT-2's vocabulary order: id i = byteMap[i]
const byteChar = new Map(byteMap);
const gpt2Pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const toByteChars = s => [...Buffer.from(s, 'utf8')].map(b => byteChar.get(b)).join('');

function byteLevelFile({ mergesAsStrings, llama3, possessive }) {
  const pieces = corpus.match(gpt2Pattern).map(toByteChars);
  const merges = learnMerges(countWords(pieces), 300);
  const vocab = {};
  byteMap.forEach(([, c], i) => { vocab[c] = i; });
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  const n = Object.keys(vocab).length;
  const added = [
    { id: n, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: n + 1, content: '<|pad|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    // RoBERTa's <mask> takes the spaces before it; a word-only, normalized token that takes the spaces after it.
    llama3
      ? { id: n + 2, content: '[WORD]', single_word: true, lstrip: false, rstrip: true, normalized: true, special: false }
      : { id: n + 2, content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
  ];
  const preTokenizer = llama3
    ? {
      type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { Regex: possessive
          // Oniguruma's possessive quantifiers (?+, *+, ++), as some converted tiktoken files write the pattern.
          ? "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"
          : "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    }
    : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: !!llama3,
      vocab,
      merges: mergesAsStrings ? merges.map(([a, b]) => `${a} ${b}`) : merges,
    },
  };
}

// ---------------------------------------------------------------- SentencePiece-style BPE (Llama style)

function sentencePieceFile({ metaspace, split, noByteFallback }) {
  const text = corpus.replaceAll(' ', '\u2581');
  // Words as SentencePiece sees them: each starts at a ▁ (merges never cross one).
  const pieces = ('\u2581' + text).split(/(?=\u2581)/u).filter(p => p.length > 0);
  const merges = learnMerges(countWords(pieces), 300);
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  // Base characters: those seen at least twice (the rest, e.g. most CJK, fall back to bytes).
  const freq = new Map();
  for (const c of text) freq.set(c, (freq.get(c) ?? 0) + 1);
  freq.set('\u2581', 99);
  const chars = [...freq.entries()].filter(([, f]) => f >= 2).map(([c]) => c).sort();
  for (const c of chars) if (!(c in vocab)) vocab[c] = Object.keys(vocab).length;
  const kept = [];
  for (const [a, b] of merges) {
    if (!(a in vocab) || !(b in vocab)) continue;   // a merge of a byte-fallback character is not reachable
    if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
    kept.push([a, b]);
  }
  const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const added = [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>'),
    // A normalized added token: matched in the normalized text (where the normalizer turned it into ▁<sep>).
    { id: Object.keys(vocab).length, content: '<sep>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }];
  const scheme = split ? 'always' : 'first';
  const spDecoders = [
    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: metaspace ? null : {
      type: 'Sequence', normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      ],
    },
    pre_tokenizer: metaspace ? { type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: !!split } : null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: metaspace
      ? { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: !!split }, { type: 'ByteFallback' }, { type: 'Fuse' }] }
      : { type: 'Sequence', decoders: spDecoders },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      // Without byte fallback, characters outside the vocabulary become <unk> (consecutive ones fused).
      fuse_unk: true, byte_fallback: !noByteFallback, ignore_merges: false,
      vocab,
      merges: metaspace ? kept : kept.map(([a, b]) => `${a} ${b}`),
    },
  };
}

// ---------------------------------------------------------------- reference ids

const cases = [
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  'Mr. Speaker, Mr. Vice President, Members of Congress',
  "It's we'll they've I'd DON'T you're",
  'naïve café — 日本語 🙂',
  'emoji: 👍🏽 👨‍👩‍👧 🎉🎉',
  '𝐇𝐞𝐥𝐥𝐨 astral letters 𠀀𠀁',
  '  leading and trailing spaces  ',
  'tabs\tand\nnewlines\n\n\r\n end   \n',
  'numbers 1234567 3.14159 and 2026-12-07',
  'nbsp\u00a0and\u3000ideographic space',
  'Ünïcödé ÀÉÎÕÜ ß ﬁ',
  'aaaaaaaaaaaaaaaaaaaaa hello hello hello',
  '',
  ' ',
  '\u2581already has the meta symbol',
  'a<|endoftext|>b <|pad|>',
  '<s>hello</s> world <unk>',
  ' <s> x',
  'hello <mask> world  <mask>x <mask>',
  'x[WORD]y [WORD]  z [WORD]',
  'a <sep> b<sep>c <sep>',
];

const fixedCases = cases.length;
// Pseudo-random strings (fixed seed) over the characters where implementations tend to differ: whitespace runs of
// several kinds, apostrophes and contractions, digits, mixed case, accents and combining marks, CJK, emoji (with
// ZWJ and skin tones), letters above U+FFFF, the ▁ meta symbol, byte-fallback characters and the added tokens.
let seed = 20261207;
const rand = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
const atoms = [
  ' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', "'", "'s", "'ll", "'VE", 'the', 'The', 'THE', 'nation',
  'people', 'hello', 'world', 'a', 'b', 'x', 'Mr.', '0', '7', '42', '1234', '3.14', ',', '.', '!', '?', '-', '—', '"', '(', ')',
  'é', 'e\u0301', 'ñ', 'Ü', 'ß', '日本', '語', 'の', '🙂', '👍🏽', '👨\u200d👩\u200d👧', '𝐇', '𠀀', '\u2581', '<s>', '</s>',
  '<unk>', '<|endoftext|>', '<mask>', '[WORD]', '<sep>', '\u0000', '~', '_', '#',
];
for (let i = 0; i < 150; i++) {
  const n = 1 + Math.floor(rand() * 14);
  let t = '';
  for (let j = 0; j < n; j++) t += atoms[Math.floor(rand() * atoms.length)];
  cases.push(t);
}

const files = {
  'bytelevel-bpe.json': byteLevelFile({ mergesAsStrings: true, llama3: false }),
  'bytelevel-split-bpe.json': byteLevelFile({ mergesAsStrings: false, llama3: true }),
  'bytelevel-possessive-bpe.json': byteLevelFile({ mergesAsStrings: false, llama3: true, possessive: true }),
  'sentencepiece-bpe.json': sentencePieceFile({ metaspace: false }),
  'metaspace-bpe.json': sentencePieceFile({ metaspace: true }),
  'metaspace-split-bpe.json': sentencePieceFile({ metaspace: true, split: true }),
  'sentencepiece-unk-bpe.json': sentencePieceFile({ metaspace: false, noByteFallback: true }),
};

const expected = { generator: 'scripts/tokenizers/make_test_tokenizers.mjs', reference: `tokenizers (Node) ${require('tokenizers/package.json').version}`, files: {} };
for (const [name, json] of Object.entries(files)) {
  const file = path.join(outDir, name);
  fs.writeFileSync(file, JSON.stringify(json, null, 1) + '\n');
  const tok = Tokenizer.fromFile(file);
  const entry = { vocab_size: tok.getVocabSize(true), model_vocab_size: tok.getVocabSize(false), cases: [] };
  for (const text of cases) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const decoded = await tok.decode(ids, false);
    entry.cases.push(entry.cases.length < fixedCases ? { text, ids, tokens: enc.getTokens(), decoded } : { text, ids, decoded });
  }
  expected.files[name] = entry;
  console.log(`${name}: ${fs.statSync(file).size} bytes, vocab ${entry.vocab_size}`);
}
// One case a line (the file stays small and diffs stay readable).
const lines = ['{', `"generator": ${JSON.stringify(expected.generator)},`, `"reference": ${JSON.stringify(expected.reference)},`, '"files": {'];
Object.entries(expected.files).forEach(([name, e], fi, all) => {
  lines.push(`${JSON.stringify(name)}: {"vocab_size": ${e.vocab_size}, "model_vocab_size": ${e.model_vocab_size}, "cases": [`);
  e.cases.forEach((c, i) => lines.push(JSON.stringify(c) + (i + 1 < e.cases.length ? ',' : '')));
  lines.push(']}' + (fi + 1 < all.length ? ',' : ''));
});
lines.push('}}');
fs.writeFileSync(path.join(outDir, 'expected.json'), lines.join('\n') + '\n');
