// Pending follow requests to the signed-in (private) account: approve or decline.
import { useMutation, useQuery } from '@apollo/client/react';
import { ErrorNote, LoadMore, UserRow } from '../components/common.js';
import { APPROVE_REQUEST, DECLINE_REQUEST, FOLLOW_REQUESTS } from '../operations.js';
import type { Connection, UserSummary } from '../types.js';

export function RequestsScreen() {
  const { data, loading, error, fetchMore, refetch } = useQuery<{
    followRequests: Connection<UserSummary>;
  }>(FOLLOW_REQUESTS, { fetchPolicy: 'cache-and-network' });
  const [approve, a] = useMutation(APPROVE_REQUEST);
  const [decline, d] = useMutation(DECLINE_REQUEST);
  const conn = data?.followRequests;
  const act = async (fn: typeof approve, userId: string) => {
    try {
      await fn({ variables: { userId } });
      await refetch();
    } catch {
      // shown below
    }
  };
  return (
    <main>
      <h1>Follow requests</h1>
      <ErrorNote error={error ?? a.error ?? d.error} />
      {conn && conn.edges.length === 0 ? <p className="empty">No pending requests.</p> : null}
      <ul className="users">
        {conn?.edges.map(({ node }) => (
          <UserRow key={node.id} user={node}>
            <span className="row">
              <button
                type="button"
                onClick={() => void act(approve, node.id)}
                aria-label={`Approve ${node.username}`}
              >
                Approve
              </button>
              <button
                type="button"
                className="secondary"
                onClick={() => void act(decline, node.id)}
                aria-label={`Decline ${node.username}`}
              >
                Decline
              </button>
            </span>
          </UserRow>
        ))}
      </ul>
      {conn ? (
        <LoadMore
          hasMore={conn.pageInfo.hasNextPage}
          loading={loading}
          onMore={() => void fetchMore({ variables: { after: conn.pageInfo.endCursor } })}
        />
      ) : null}
    </main>
  );
}
