package deploy

import "context"

// changeOrderLocks is the KeyLocks space that orders a deployment's changes
// with telling the notifier about them.
const changeOrderLocks = 3

// inOrder takes deployment id's change lock. Held from before the
// transaction that changes the deployment until the notifier was told, it
// keeps any other change of id, on any replica, from being committed and
// told in between: the notifier hears a deployment's changes in the order
// they were committed, so its Slack thread says "Quorum reached" before the
// rollout step the quorum started. The lock is not reentrant: never call it,
// nor anything that takes it, while holding it.
func (e *Engine) inOrder(ctx context.Context, id int64) (func(), error) {
	return e.order.Lock(ctx, id)
}
