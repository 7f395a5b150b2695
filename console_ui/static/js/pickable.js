// A row picked by a click, or from the keyboard: it takes the focus (Tab) and Enter or Space picks it.

export function pickable(pick) {
  return {
    tabIndex: 0,
    onClick: pick,
    onKeyDown: (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      pick();
    },
  };
}
