// The card form on the order page: Stripe.js's Payment Element. The order is marked paid
// only by what Stripe tells the shop (webhook or server-side check), never by this script.
(function () {
  var form = document.getElementById("card-form");
  if (!form || !window.Stripe) { return; }
  var stripe = window.Stripe(form.dataset.key, { locale: form.dataset.locale });
  var elements = stripe.elements({ clientSecret: form.dataset.secret, locale: form.dataset.locale });
  elements.create("payment").mount("#payment-element");
  var button = document.getElementById("pay-button");
  var error = document.getElementById("card-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var label = button.textContent;
    button.disabled = true;
    button.textContent = form.dataset.wait;
    error.hidden = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        if (result && result.error) {
          error.textContent = result.error.message;
          error.hidden = false;
          button.disabled = false;
          button.textContent = label;
        }
      });
  });
})();
