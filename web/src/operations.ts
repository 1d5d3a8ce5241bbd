// Every operation the app sends, in one place (they become its trusted documents).
// Selections are shared as plain strings, not fragments: the gateway's cost limit
// (MAX_QUERY_COST, graphql-armor) charges every fragment spread as one more level of depth
// (×1.5) and multiplies a connection by its literal `first`, so a feed page of ten posts
// with fragments cost 13,905 against the limit of 5,000; inlined, it fits.
import { gql } from '@apollo/client';

const MEDIA = `
    id
    type
    url
    width
    height
    blurhash
    altText
    posterUrl
    variants {
      url
      width
    }
`;

const USER = `
    id
    username
    displayName
    isViewer
    isPrivate
    viewerFollowState
    viewerHasBlocked
    followsViewer
    avatar {
      id
      variants {
        url
      }
    }
`;

/** A post's author: what the post header shows. */
const AUTHOR = `
    id
    username
    avatar {
      id
      variants {
        url
      }
    }
`;

const POST_SELECTION = `
    id
    caption
    createdAt
    hashtags
    author {
      ${AUTHOR}
    }
    media {
      ${MEDIA}
    }
`;

const AUTH = `
    accessToken
    accessTokenExpiresAt
    refreshToken
    user {
      id
      username
    }
`;

export const SIGN_UP = gql`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      ${AUTH}
    }
  }
`;

export const LOG_IN = gql`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      ${AUTH}
    }
  }
`;

export const LOG_OUT = gql`
  mutation LogOut($refreshToken: String!) {
    logOut(refreshToken: $refreshToken)
  }
`;

export const ME = gql`
  query Me {
    me {
      ${USER}
      pendingFollowRequestCount
    }
  }
`;

export const FEED = gql`
  query Feed($after: String) {
    feed(first: 10, after: $after) {
      edges {
        cursor
        node {
          ${POST_SELECTION}
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`;

export const POST = gql`
  query Post($id: ID!) {
    post(id: $id) {
      ${POST_SELECTION}
      editedAt
    }
  }
`;

export const PROFILE = gql`
  query Profile($username: String!, $after: String) {
    user(username: $username) {
      ${USER}
      bio
      website
      postCount
      followerCount
      followingCount
      posts(first: 12, after: $after) {
        edges {
          cursor
          node {
            id
            caption
            media {
              ${MEDIA}
            }
          }
        }
        pageInfo {
          endCursor
          hasNextPage
        }
      }
    }
  }
`;

export const FOLLOWERS = gql`
  query Followers($username: String!, $after: String) {
    user(username: $username) {
      id
      username
      followers(first: 20, after: $after) {
        edges {
          cursor
          node {
            ${USER}
          }
        }
        pageInfo {
          endCursor
          hasNextPage
        }
      }
    }
  }
`;

export const FOLLOWING = gql`
  query Following($username: String!, $after: String) {
    user(username: $username) {
      id
      username
      following(first: 20, after: $after) {
        edges {
          cursor
          node {
            ${USER}
          }
        }
        pageInfo {
          endCursor
          hasNextPage
        }
      }
    }
  }
`;

const FOLLOW_PAYLOAD = `
    user {
      ${USER}
      followerCount
      followingCount
    }
    viewer {
      id
      followerCount
      followingCount
      pendingFollowRequestCount
    }
`;

export const FOLLOW = gql`
  mutation Follow($userId: ID!) {
    follow(userId: $userId) {
      ${FOLLOW_PAYLOAD}
    }
  }
`;

export const UNFOLLOW = gql`
  mutation Unfollow($userId: ID!) {
    unfollow(userId: $userId) {
      ${FOLLOW_PAYLOAD}
    }
  }
`;

export const UNBLOCK = gql`
  mutation Unblock($userId: ID!) {
    unblock(userId: $userId) {
      ${FOLLOW_PAYLOAD}
    }
  }
`;

export const FOLLOW_REQUESTS = gql`
  query FollowRequests($after: String) {
    followRequests(first: 20, after: $after) {
      edges {
        cursor
        node {
          ${USER}
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`;

export const APPROVE_REQUEST = gql`
  mutation ApproveFollowRequest($userId: ID!) {
    approveFollowRequest(userId: $userId) {
      ${FOLLOW_PAYLOAD}
    }
  }
`;

export const DECLINE_REQUEST = gql`
  mutation DeclineFollowRequest($userId: ID!) {
    declineFollowRequest(userId: $userId) {
      ${FOLLOW_PAYLOAD}
    }
  }
`;

export const SEARCH_POSTS = gql`
  query SearchPosts($query: String!, $after: String) {
    searchPosts(query: $query, first: 12, after: $after) {
      edges {
        cursor
        node {
          id
          caption
          media {
            ${MEDIA}
          }
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`;

export const SEARCH_USERS = gql`
  query SearchUsers($query: String!) {
    searchUsers(query: $query, first: 8) {
      edges {
        cursor
        node {
          ${USER}
        }
      }
    }
  }
`;

export const SEARCH_HASHTAGS = gql`
  query SearchHashtags($prefix: String!) {
    searchHashtags(prefix: $prefix, first: 8) {
      name
      postCount
    }
  }
`;

export const EDIT_PROFILE = gql`
  query EditProfile {
    me {
      ${USER}
      bio
      website
    }
  }
`;

export const UPDATE_PROFILE = gql`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      id
      displayName
      bio
      website
    }
  }
`;

export const SET_PRIVACY = gql`
  mutation SetAccountPrivacy($isPrivate: Boolean!) {
    setAccountPrivacy(isPrivate: $isPrivate) {
      id
      isPrivate
      pendingFollowRequestCount
    }
  }
`;

export const SET_AVATAR = gql`
  mutation SetAvatar($mediaId: ID) {
    setAvatar(mediaId: $mediaId) {
      id
      avatar {
        id
        url
        variants {
          url
          width
          height
        }
      }
    }
  }
`;

export const CREATE_UPLOAD = gql`
  mutation CreateUpload($input: CreateUploadInput!) {
    createUpload(input: $input) {
      uploadId
      url
      partSize
      parts {
        partNumber
        url
      }
    }
  }
`;

export const COMPLETE_UPLOAD = gql`
  mutation CompleteUpload($uploadId: ID!, $parts: [CompletedPartInput!]) {
    completeUpload(uploadId: $uploadId, parts: $parts) {
      ${MEDIA}
    }
  }
`;

export const CREATE_POST = gql`
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) {
      ${POST_SELECTION}
    }
  }
`;
