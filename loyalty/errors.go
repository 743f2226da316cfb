package loyalty

import "errors"

// Sentinel errors that callers branch on (the API maps them to HTTP
// statuses, the dialog to replies). Returned errors wrap them with context;
// test with errors.Is.
var (
	// ErrInvalid: a value given by the caller is not acceptable; the
	// wrapping message says which and why.
	ErrInvalid = errors.New("invalid")
	// ErrNoMember: no member has that id (or identity).
	ErrNoMember = errors.New("no such member")
	// ErrExists: the member or right to create already exists.
	ErrExists = errors.New("already exists")
	// ErrInsufficient: the balance does not cover the cost or the debit.
	ErrInsufficient = errors.New("not enough points")
	// ErrOutOfStock: the right has no stock left.
	ErrOutOfStock = errors.New("out of stock")
	// ErrLimit: the member has redeemed the right as often as allowed.
	ErrLimit = errors.New("redemption limit reached")
	// ErrNotEligible: the member's tier (or birthday month) does not allow
	// the right.
	ErrNotEligible = errors.New("not eligible")
	// ErrFrozen: the member's points are frozen; earning still works.
	ErrFrozen = errors.New("points are frozen")
	// ErrNoRight: no active right has that id.
	ErrNoRight = errors.New("no such right")
	// ErrNoCampaign: no campaign has that name.
	ErrNoCampaign = errors.New("no such campaign")
	// ErrNoCoupon: no coupon has that code.
	ErrNoCoupon = errors.New("no such coupon")
	// ErrCouponUsed: the coupon was used already.
	ErrCouponUsed = errors.New("coupon already used")
	// ErrCouponExpired: the coupon is past its expiry.
	ErrCouponExpired = errors.New("coupon expired")
	// ErrNoOrder: no order with that id earned points.
	ErrNoOrder = errors.New("no such order")
	// ErrLinkCode: the link code is unknown, used or expired.
	ErrLinkCode = errors.New("invalid or expired link code")
)
