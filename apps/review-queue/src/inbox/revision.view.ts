// The card's "Approve with changes" editor (docs/adr/0017), apart from inbox.view.ts so the feature stays in its own file.
import type { ReviewItem } from '../review-item/review-item.repository';

// Its own escaping (as inbox.view.ts's `esc`), so the two views do not import each other.
const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A button that opens an editor of the parameters (JSON, as shown: masked values left as they are keep their real
 * value) with a required reason. Sent by the script (`POST /reviews/:id/revise`); the answer names the new action.
 */
export function revisionEditor(item: ReviewItem, parameters: Record<string, unknown>): string {
  return `<section class="revise" aria-labelledby="revise-open">
    <button type="button" id="revise-open" class="revise-open" aria-expanded="false" aria-controls="revise-form">Approve with changes</button>
    <form id="revise-form" class="revise-form" data-action-id="${esc(item.actionId)}" aria-label="Approve with changes" novalidate hidden>
      <label for="revise-parameters">Parameters (JSON): edit what should change</label>
      <textarea id="revise-parameters" name="parameters" rows="10" spellcheck="false" aria-describedby="revise-help">${esc(JSON.stringify(parameters, null, 2))}</textarea>
      <p id="revise-help" class="help">A new version of the action is created and evaluated again; your approval counts for it only as you send it.
        Masked values you leave exactly as shown keep their real value.</p>
      <label for="revise-reason">Reason for the changes (required; recorded with your decision)</label>
      <input id="revise-reason" name="reason" minlength="3" maxlength="2000" required autocomplete="off">
      <div class="buttons">
        <button type="submit" class="revise-send">Send the changed version</button>
        <button type="button" class="revise-cancel">Cancel</button>
      </div>
    </form>
  </section>`;
}
