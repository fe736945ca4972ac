// The documents ticked on the list, kept for this tab (sessionStorage) so the statistics page can
// build a summary report of them. Ids only; names for display.

const KEY = "docproc_selection";

export function getSelection() {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(KEY) || "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

export function saveSelection(selection) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(selection));
  } catch {
    /* storage full or disabled: the selection lasts for this page only */
  }
}
