// Apollo Client with the cache a real app needs: every connection merged page by page
// (relayStylePagination, keyed by the arguments that make it a different list), Hashtag keyed
// by its name, and value types without an id kept inside their parent.
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { authFetch } from './session.js';

export function createClient(): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({ uri: '/graphql', fetch: authFetch }),
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            feed: relayStylePagination(),
            searchPosts: relayStylePagination(['query']),
            searchUsers: relayStylePagination(['query']),
            followRequests: relayStylePagination(),
            blockedUsers: relayStylePagination(),
          },
        },
        User: {
          fields: {
            posts: relayStylePagination(),
            followers: relayStylePagination(),
            following: relayStylePagination(),
          },
        },
        Hashtag: { keyFields: ['name'], fields: { posts: relayStylePagination() } },
        UploadTicket: { keyFields: ['uploadId'] },
        MediaVariant: { keyFields: false },
        AuthPayload: { keyFields: false },
      },
    }),
  });
}
