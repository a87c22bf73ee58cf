// The live preview on the Upgrade or Downgrade page: the setup fee, how it is computed and
// the next renewal update as the subscriber types. A static file, not inline, so the Content-Security-Policy
// can refuse every inline script.
(() => {
  const form = document.getElementById('switch-form');
  const box = document.getElementById('switch-preview');
  let pending = null;
  const refresh = async () => {
    const params = new URLSearchParams();
    for (const input of form.querySelectorAll('input[type=number]')) params.set(input.name, input.value);
    const response = await fetch(box.dataset.url + '?' + params.toString(), {headers: {'Accept': 'application/json'}});
    const data = await response.json();
    const error = document.getElementById('preview-error');
    error.hidden = !data.error;
    error.textContent = data.error || '';
    if (data.error) return;
    document.getElementById('setup-fee').textContent = data.setup_fee;
    document.getElementById('next-renewal').textContent = data.next_renewal_total;
    document.getElementById('effective-at').textContent = data.effective_at;
    document.getElementById('fee-waived').hidden = !data.fee_waived;
    // The fee explained (R19): both recurring totals, the days left and the formula.
    document.getElementById('current-total').textContent = data.current_recurring_total;
    document.getElementById('new-total').textContent = data.new_recurring_total;
    document.getElementById('days').textContent = data.days;
    document.getElementById('fee-explanation').textContent = data.explanation;
    for (const cell of document.querySelectorAll('#renewal-lines [id^=renewal-]')) {
      cell.textContent = data.lines[cell.id.slice('renewal-'.length)] || '–';
    }
  };
  form.addEventListener('input', () => { clearTimeout(pending); pending = setTimeout(refresh, 150); });
  // The form is usable before this file has arrived: catch up with what was typed meanwhile.
  if ([...form.querySelectorAll('input[type=number]')].some((input) => input.value !== input.defaultValue)) refresh();
})();
