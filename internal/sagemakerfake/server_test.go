package sagemakerfake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

func client(s *Server) *sagemaker.Client {
	return sagemaker.New(sagemaker.Options{
		Region: Region, BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:     aws.NopRetryer{},
	})
}

func code(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err %v is not an API error", err)
	}
	return ae.ErrorCode() + ": " + ae.ErrorMessage()
}

func seed(t *testing.T, c *sagemaker.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("m1"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String("img")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("c1"),
		ProductionVariants: []types.ProductionVariant{{VariantName: aws.String("a"), ModelName: aws.String("m1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("e1"), EndpointConfigName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointLifecycleAndRefusals(t *testing.T) {
	s := New("AKIDTEST", "secret")
	defer s.Close()
	c := client(s)
	ctx := context.Background()
	seed(t, c)
	// Creating until described once (SettleAfter 1): no change is allowed.
	_, err := c.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String("e1"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("a"), DesiredWeight: aws.Float32(1)}}})
	if got := code(t, err); !strings.HasPrefix(got, `ValidationException: Cannot update in-progress endpoint`) {
		t.Errorf("update while Creating: %s", got)
	}
	for _, want := range []types.EndpointStatus{types.EndpointStatusCreating, types.EndpointStatusInService} {
		out, err := c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")})
		if err != nil || out.EndpointStatus != want {
			t.Fatalf("status %v, %v; want %s", out.EndpointStatus, err, want)
		}
	}
	_, err = c.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String("e1"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("b"), DesiredWeight: aws.Float32(1)}}})
	if got := code(t, err); !strings.Contains(got, `The variant name(s) "b" is/are not present`) {
		t.Errorf("unknown variant: %s", got)
	}
	_, err = c.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("c2"),
		ProductionVariants: []types.ProductionVariant{{VariantName: aws.String("a"), ModelName: aws.String("missing")}}})
	if got := code(t, err); !strings.Contains(got, `Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/missing"`) {
		t.Errorf("missing model: %s", got)
	}
	_, err = c.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("bad_name"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String("img")}})
	if got := code(t, err); !strings.Contains(got, "failed to satisfy constraint") {
		t.Errorf("bad name: %s", got)
	}
	_, err = c.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("m1"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String("img")}})
	if got := code(t, err); !strings.Contains(got, "Cannot create already existing model") {
		t.Errorf("duplicate model: %s", got)
	}
}

func TestFaults(t *testing.T) {
	s := New("AKIDTEST", "secret")
	defer s.Close()
	c := client(s)
	ctx := context.Background()
	seed(t, c)
	c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")}) // Creating
	c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")}) // InService
	s.Fail(Fault{Op: "DescribeEndpoint", Type: Throttle.Type, Message: Throttle.Message, Status: Throttle.Status}, 1)
	_, err := c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")})
	if got := code(t, err); got != "ThrottlingException: Rate exceeded" {
		t.Errorf("throttle: %s", got)
	}
	// The SDK's standard retryer treats it as retryable, as for SageMaker.
	if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		t.Errorf("the SDK does not retry the emulator's throttling error: %v", err)
	}
	// A failed update goes back to InService on the old config, with a reason.
	if _, err := c.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("c2"),
		ProductionVariants: []types.ProductionVariant{{VariantName: aws.String("b"), ModelName: aws.String("m1")}}}); err != nil {
		t.Fatal(err)
	}
	s.FailNextUpdate("ping health check failed")
	if _, err := c.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("e1"), EndpointConfigName: aws.String("c2")}); err != nil {
		t.Fatal(err)
	}
	c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")})
	out, _ := c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")})
	if out.EndpointStatus != types.EndpointStatusInService || aws.ToString(out.EndpointConfigName) != "c1" || aws.ToString(out.FailureReason) != "ping health check failed" {
		t.Errorf("after a failed update: %s %s %q", out.EndpointStatus, aws.ToString(out.EndpointConfigName), aws.ToString(out.FailureReason))
	}
	// Stuck: Updating however often it is described.
	s.StickUpdating(true)
	if _, err := c.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("e1"), EndpointConfigName: aws.String("c2")}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		out, _ := c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("e1")})
		if out.EndpointStatus != types.EndpointStatusUpdating {
			t.Fatalf("stuck endpoint is %s", out.EndpointStatus)
		}
	}
}

func TestWireProtocolRefusals(t *testing.T) {
	s := New("AKIDTEST", "secret")
	defer s.Close()
	for _, tc := range []struct {
		name, auth, target, ctype string
		status                    int
		errType                   string
	}{
		{"unsigned", "", "SageMaker.DescribeEndpoint", "application/x-amz-json-1.1", 403, "MissingAuthenticationTokenException"},
		{"malformed authorization", "Bearer x", "SageMaker.DescribeEndpoint", "application/x-amz-json-1.1", 400, "IncompleteSignatureException"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", tc.ctype)
		req.Header.Set("X-Amz-Target", tc.target)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.errType || !strings.Contains(string(body), `"__type":"`+tc.errType+`"`) {
			t.Errorf("%s: %d %s %s", tc.name, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
		}
	}
}

// SageMaker reads model artifacts from S3 or HTTPS only: a registry URI is
// refused with the API reference's pattern in the message.
func TestModelDataURLMustBeS3OrHTTPS(t *testing.T) {
	s := New("AKIDTEST", "secret")
	defer s.Close()
	c := client(s)
	ctx := context.Background()
	for _, u := range []string{"models:/m-abc123", "runs:/r1/model", "ftp://host/model.tar.gz"} {
		_, err := c.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("m1"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String("img"), ModelDataUrl: aws.String(u)}})
		if got := code(t, err); !strings.Contains(got, "ValidationException") || !strings.Contains(got, "primaryContainer.modelDataUrl") {
			t.Errorf("%s: %s", u, got)
		}
	}
	if _, err := c.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("m1"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String("img"), ModelDataUrl: aws.String("s3://bucket/m/model.tar.gz")}}); err != nil {
		t.Errorf("s3 URL refused: %v", err)
	}
}

// AddEndpoint sets up an endpoint InService at once, which the SDK sees
// like one created through the API.
func TestAddEndpointIsInService(t *testing.T) {
	s := New("AKIDTEST", "secret")
	defer s.Close()
	s.AddEndpoint("churn-production", "churn-v7-manual", "v7", "churn-model-v7", "img", "s3://bucket/churn/7/model.tar.gz")
	out, err := client(s).DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String("churn-production")})
	if err != nil {
		t.Fatal(err)
	}
	if out.EndpointStatus != types.EndpointStatusInService || aws.ToString(out.EndpointConfigName) != "churn-v7-manual" || len(out.ProductionVariants) != 1 || aws.ToFloat32(out.ProductionVariants[0].CurrentWeight) != 1 {
		t.Errorf("described %+v", out)
	}
	defer func() {
		if recover() == nil {
			t.Error("a name SageMaker refuses was accepted")
		}
	}()
	s.AddEndpoint("bad_name", "c", "v", "m", "img", "")
}
