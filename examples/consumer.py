# The order system's consumer of the unified queue: the same code against SQS FIFO in production
# and against `o2o serve` locally (AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9324). docs/consumer.md
import os, boto3

sqs, url = boto3.client("sqs"), os.environ["O2O_UNIFIED_QUEUE_URL"]
once = os.environ.get("O2O_CONSUMER_EXIT_WHEN_EMPTY")  # stop at the first empty poll (the tests)
while True:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1 if once else 20, MessageAttributeNames=["All"])
    for m in got.get("Messages", []):
        print(m["MessageAttributes"]["event_type"]["StringValue"], m["Body"], flush=True)  # your order system here
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])  # acknowledged
    if once and not got.get("Messages"):
        break
