import { canonicalText, shownText, visibleShownText } from './canonical';
import { evaluate } from './evaluate';
import { compiledProjectContract, OPEN_INPUTS, proposalOf } from './spec-fixtures';

// real: the project's contract, evaluate, the built-in detectors and the canonical forms; fake: nothing.
const reply = (body: string) => proposalOf('support.reply', { body }, { target: 'ticket-1', confidence: 0.97 });
const decide = (body: string) => evaluate(compiledProjectContract, reply(body), OPEN_INPUTS);

describe('named and zero-padded character references (red team, 2026-12-05)', () => {
  it('a card, an IBAN and a phone number split by `&thinsp;`, and a refund split by `&shy;`, go to review, masked', () => {
    const d = decide(
      '<p>Your card 4111&thinsp;1111&thinsp;1111&thinsp;1111, IBAN DE89&thinsp;3704&thinsp;0044&thinsp;0532&thinsp;0130&thinsp;00, phone +49&thinsp;151&thinsp;2345&thinsp;6789. We&#39;ll re&shy;fund the order in full.</p>',
    );
    expect(d).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['guardrail:regulated-data', 'score:commitment-language']) });
    expect(d.reasons.find((r) => r.startsWith('regulated data in outbound text'))).toMatch(/card.*iban.*phone|card, iban, phone/);
    expect(JSON.stringify(d)).not.toMatch(/4111&thinsp;1111|DE89&thinsp;3704|151&thinsp;2345/);
  });

  it('a commitment behind `&apos;`, `&rsquo;`, `&zwnj;` or `&aacute;` is scored as one', () => {
    for (const body of ['We&apos;ll pay.', 'We&rsquo;ll pay.', "<p>We'll re&zwnj;fund your order.</p>", 'We will p&aacute;y you.']) {
      expect(decide(body)).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['score:commitment-language']) });
    }
  });

  it('an e-mail address behind a zero-padded `&#x0000040;` and a card split by `&ensp;` are regulated data', () => {
    for (const body of ['Contact jane.doe&#x0000040;example.com', 'Your card 4111&ensp;1111&ensp;1111&ensp;1111 is on file.']) {
      const d = decide(body);
      expect(d).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['guardrail:regulated-data']) });
      expect(JSON.stringify(d)).not.toMatch(/jane\.doe&#x0000040;|4111&ensp;1111/);
    }
  });

  it('plain replies with an ampersand stay autonomous', () => {
    expect(decide('Thanks, your parcel ships tomorrow. AT&amp;T &amp; Q&A are fine.')).toMatchObject({ lane: 'autonomous' });
  });
});

describe('look-alike letters with a hook or stroke, and Lisu and Cherokee letters (red team, 2026-12-05)', () => {
  it('fold to the Latin letter they are drawn as', () => {
    for (const text of ["We'll reƒund your order.", "We'll ɾefund your order.", "We'll refuɲd your order.", "We'll ꓣꓰꓝꓴꓠꓓ YOUR ORDER."])
      expect(canonicalText(text)).toBe("we'll refund your order.");
    expect(canonicalText('ᏒᎬᎰᎢ'.replace('Ꮀ', 'Ꮲ'))).toBe('rept');
    expect(canonicalText('ŁĐĦŦ ÆŒ Ɍɇƒᵾɲɗ')).toBe('ldht aeoe refund');
    // Already a value of its own kept apart before: unchanged.
    expect(canonicalText('Straße café')).toBe('straße cafe');
  });

  it('each is scored as the commitment it reads', () => {
    for (const body of ["We'll reƒund your order.", "We'll ɾefund your order.", "We'll refuɲd your order.", "We'll ꓣꓰꓝꓴꓠꓓ YOUR ORDER."])
      expect(decide(body)).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['score:commitment-language']) });
  });

  // Every letter of Latin Extended-A and -B, IPA and Lisu folds to Latin letters, or is one of these: turned, reversed or
  // of another alphabet (esh, ezh, gamma, schwa, click letters), or NFKC makes it a letter and a dot (`ŀ`) or an apostrophe (`ŉ`).
  const NOT_LATIN = 'ĿŀŉƆƍƎƏƔƕƛƜƢƣƧƨƩƪƱƷƸƹƺƻƼƽƾƿǁǂǃǝǮǯǶǷȜȝȢȣɁɂɅɐɔɘəɚɜɝɞɟɣɤɥɮɯɰɶɷɸɹɺɻɿʁʃʅʆʇʊʌʍʎʒʓʔʕʖʗʘʚʞʡʢʤʧʩʬʭʮʯ' + 'ꓒꓕꓘꓛꓞꓤꓥꓨꓩꓭꓯꓱꓵꓶꓷ';
  it('every letter of Latin Extended-A and -B, IPA and Lisu is folded to Latin or listed as drawn otherwise', () => {
    const unlisted: string[] = [];
    for (const [from, to] of [
      [0x100, 0x2af],
      [0xa4d0, 0xa4f7],
    ])
      for (let code = from; code <= to; code++) {
        const c = String.fromCodePoint(code);
        if (/\p{L}/u.test(c) && !/^[a-z]+$/.test(canonicalText(c)) && !NOT_LATIN.includes(c)) unlisted.push(c);
      }
    expect(unlisted).toEqual([]);
    for (const c of NOT_LATIN) expect(canonicalText(c)).not.toMatch(/^[a-z]+$/);
  });

  it('reads the same in the text as shown', () => {
    expect(shownText("<p>We'll re<b>ƒ</b>und your order.</p>")).toBe("we'll refund your order.");
  });
});

describe('text in hidden elements (red team, 2026-12-05: `re<span style="display:none">x</span>fund` was read as `rexfund`)', () => {
  it('a refund promise, a card and a phone number split by hidden elements go to review, masked', () => {
    for (const body of [
      '<p>We will re<span style="display:none">xyz</span>fund your order.</p>',
      '<p>We will re<span hidden>xyz</span>fund your order.</p>',
      "<p>We will re<span style='font-size:0px'>xyz</span>fund your order.</p>",
      '<p>We will re<font style="opacity: 0">xyz</font>fund your order.</p>',
      '<p>We will re<span style="display: none"><span>x</span>yz</span>fund your order.</p>',
    ])
      expect(decide(body)).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['score:commitment-language']) });
    const d = decide('<p>Card 4111 1111<span style="display:none">-</span> 1111 1111, phone +49 151<span hidden>ab</span> 2345 6789.</p>');
    expect(d).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['guardrail:regulated-data']) });
    expect(JSON.stringify(d)).not.toMatch(/4111 1111|2345 6789/);
  });

  it('reads what is visible only when something is hidden, and keeps every other reading', () => {
    expect(visibleShownText('We will re<span style="display:none">xyz</span>fund you')).toBe('we will refund you');
    expect(visibleShownText('We will re<b>fund</b> you')).toBeUndefined();
    // The hidden text is still read as sent and as shown: a promise inside a hidden element is one too.
    expect(decide('<p>Thanks!<span style="display:none">We will refund you twice.</span></p>')).toMatchObject({ lane: 'review' });
    // A visible font size, a shown element and a plain reply stay autonomous.
    expect(decide('<p>Your parcel <span style="font-size:0.9em">ships</span> tomorrow.</p>')).toMatchObject({ lane: 'autonomous' });
    expect(decide('<p>Your parcel <span style="display:block">ships</span> tomorrow.</p>')).toMatchObject({ lane: 'autonomous' });
  });
});
