-- User subgraph v0.2: a website on the profile, an http(s) URL of at most 200 characters as
-- the WHATWG URL parser normalises it (the rules: subgraphs/user/src/validation.ts).
ALTER TABLE users.users ADD COLUMN website text;
ALTER TABLE users.users ADD CONSTRAINT users_website_length_check
  CHECK (website IS NULL OR char_length(website) <= 200);
