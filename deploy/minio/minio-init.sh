#!/bin/sh
# docker compose `minio-init` (one-shot, the minio image built from deploy/minio/Dockerfile,
# which ships mc): creates the media bucket and the application user the services use (a
# policy that allows that bucket only, so no Mosaic container holds MinIO's root
# credentials). The bucket has NO anonymous policy: every object is read and written
# through URLs the post service presigns (MINIO_PRESIGN_BASE_URL, through lb's /objects/),
# so a private account's media are never served to someone who merely knows their key.
# Idempotent: re-running it sets the application user's secret and policy again, and
# removes the anonymous policy earlier versions set (GET on m/ for everyone).
set -eu

for v in "$MINIO_ROOT_PASSWORD" "$MINIO_APP_SECRET_KEY"; do
  case "$v" in *change-me*)
    echo "minio-init: replace the change-me placeholders (.env.example) with real secrets" >&2
    exit 1
  esac
done

export MC_CONFIG_DIR=/tmp/.mc
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$MINIO_BUCKET"

cat >/tmp/mosaic-app-policy.json <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$MINIO_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts"
      ],
      "Resource": ["arn:aws:s3:::$MINIO_BUCKET/*"]
    }
  ]
}
POLICY
mc admin policy create local mosaic-media-rw /tmp/mosaic-app-policy.json >/dev/null
mc admin user add local "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY" >/dev/null
# Attaching a policy twice is an error: attach only when the user does not have it yet.
if ! mc admin user info --json local "$MINIO_APP_ACCESS_KEY" |
  grep -q '"policyName": *"[^"]*mosaic-media-rw'; then
  mc admin policy attach local mosaic-media-rw --user "$MINIO_APP_ACCESS_KEY" >/dev/null
fi

# No anonymous access at all (deployments made before private accounts had GET on m/*).
mc anonymous set none "local/$MINIO_BUCKET" >/dev/null
echo "minio-init: bucket $MINIO_BUCKET (no anonymous access) and user $MINIO_APP_ACCESS_KEY ready"
