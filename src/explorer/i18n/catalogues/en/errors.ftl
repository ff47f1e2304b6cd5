# Pages that could not be shown.

error-title-400 = Bad request
error-title-404 = Not found
error-title-415 = Unsupported form
error-title-429 = Too many requests
error-title-503 = Unavailable for a moment
error-title-other = Error
error-field = Field at fault:
error-way-on = <a href="/">The log's home page</a> · <a href="/lookup">Find a donation</a>
error-no-charity = No charity with the id “{ $org }” is registered.
error-no-campaign = Charity “{ $org }” has no campaign with the id “{ $campaign }”.
error-give-donation = Give the donation id as well.
error-give-charity = Choose the charity as well: donation ids are per charity.
error-form-type = Send the lookup form as application/x-www-form-urlencoded.
error-form-undecodable = The form does not decode.
error-form-unknown-field = Unknown form field “{ $name }”; the form has org and donor_ref.
error-form-repeated = { $name } is given more than once.
error-form-give-charity = Choose the charity.
error-form-give-reference = Give your donor reference.
error-language = Choose one of: { $languages }.
error-back = Give a path on this site, starting with one “/”.
error-no-donation = { $org } has no donation with the id “{ $donation }”. Check the id on your receipt.
error-outage = The log cannot be read right now. Try again in a moment.
error-in-english = The service explains (in English):
