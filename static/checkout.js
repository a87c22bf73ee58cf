// A buyer with an organisation or a VAT number orders as a business (§356(5) BGB):
// show them the business note instead of the consumer's two statements.
(function () {
  var form = document.querySelector(".checkout-form");
  if (!form) return;
  var organisation = form.querySelector("#organisation");
  var taxNumber = form.querySelector("#tax_number");
  var consumer = form.querySelector(".consumer-statements");
  var business = form.querySelector(".business-statement");
  function update() {
    var isBusiness = organisation.value.trim() !== "" || taxNumber.value.trim() !== "";
    consumer.hidden = isBusiness;
    business.hidden = !isBusiness;
  }
  organisation.addEventListener("input", update);
  taxNumber.addEventListener("input", update);
  update();
})();
